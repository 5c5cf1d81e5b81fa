from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows import services
from workflows.bundles import collect_bundles
from workflows.exceptions import DeployRefused


class Command(BaseCommand):
    help = "Deploy every process under bpmn/ (with its DMN and forms). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--bpmn-dir", default=str(settings.CAREFLOW["BPMN_DIR"]))
        parser.add_argument("--forms-dir", default=str(settings.CAREFLOW["FORMS_DIR"]))

    def handle(self, *args, **options):
        bundles = collect_bundles(Path(options["bpmn_dir"]), Path(options["forms_dir"]))
        failed = []
        for bundle in bundles:
            try:
                # The operator's deploy (no `deployed_by`): current at once, no four-eyes
                # approval. These are the shipped, code-reviewed files in bpmn/ and forms/,
                # deployed by whoever runs the server, who holds its database already; a
                # person's upload through the API is what the approval guards against.
                result = services.version_deploy(files=bundle.files)
            except DeployRefused as exc:
                failed.append(bundle.main_file)
                self.stderr.write(f"{bundle.main_file}: refused")
                for p in exc.problems:
                    self.stderr.write(f"  {p['file']} {p['element']}: {p['message']}")
                continue
            version = result.version
            state = "deployed" if result.created else "unchanged"
            self.stdout.write(f"{version.definition.key}: v{version.number} ({state})")
        if failed:
            raise CommandError(f"{len(failed)} bundle(s) refused: {', '.join(failed)}")
