"""Assemble deployable bundles from the shipped bpmn/ and forms/ folders."""

from dataclasses import dataclass
from pathlib import Path

from workflows.engine import BundleInvalid, bundle_references, decision_ids, process_ids


@dataclass(frozen=True)
class FolderBundle:
    """One top-level process file with every file it needs."""

    main_file: str
    files: dict[str, bytes]


def collect_bundles(bpmn_dir: Path, forms_dir: Path) -> list[FolderBundle]:
    """One bundle per top-level .bpmn file: the called processes' files, the DMN files
    of the decisions it uses, and the forms it names (looked up in `forms_dir`).

    A file that is not even well-formed XML becomes a bundle of its own, so that the
    deploy validation reports what is wrong with it and the other bundles still deploy.
    """
    contents = {
        p.name: p.read_bytes() for p in sorted([*bpmn_dir.glob("*.bpmn"), *bpmn_dir.glob("*.dmn")])
    }
    bundles = []
    processes: dict[str, list[str]] = {}
    decision_file: dict[str, str] = {}
    for name, content in contents.items():
        try:
            if name.endswith(".bpmn"):
                processes[name] = process_ids(content, name)
            else:
                decision_file.update((did, name) for did in decision_ids(content, name))
        except BundleInvalid:
            bundles.append(FolderBundle(main_file=name, files={name: content}))
    process_file = {pid: name for name, pids in processes.items() for pid in pids}
    refs = {name: bundle_references(contents[name], name) for name in processes}
    called = {pid for r in refs.values() for pid in r["called"]}

    for main_file, pids in processes.items():
        if pids and all(pid in called for pid in pids):
            continue  # only ever called by other processes
        files: dict[str, bytes] = {}
        queue = [main_file]
        while queue:
            name = queue.pop()
            if name in files:
                continue
            files[name] = contents[name]
            queue.extend(process_file[pid] for pid in refs[name]["called"] if pid in process_file)
            for did in refs[name]["decisions"]:
                if did in decision_file:
                    files.setdefault(decision_file[did], contents[decision_file[did]])
            for form in sorted(refs[name]["forms"]):
                form_path = forms_dir / form
                if form_path.is_file():
                    files.setdefault(form, form_path.read_bytes())
        bundles.append(FolderBundle(main_file=main_file, files=files))
    return bundles
