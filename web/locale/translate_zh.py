# ruff: noqa: E501 - a table of translations, one per line
"""Fill web/locale/zh_Hans/*.po from ZH below (terms from shared/GLOSSARY.md), then compile.

Run after `makemessages`: python web/locale/translate_zh.py && (cd web && django-admin compilemessages)
"""

import json
import re
import sys
from pathlib import Path

ZH = {
    # event kinds
    "Process started": "流程已发起",
    "Process completed": "流程已完成",
    "Process terminated": "流程已终止",
    "Process suspended": "流程已挂起",
    "Process resumed": "流程已恢复",
    "Task created": "任务已创建",
    "Task claimed": "任务已认领",
    "Task released": "任务已退回待认领",
    "Task delegated": "任务已转交",
    "Task completed": "任务已完成",
    "Task cancelled": "任务已取消",
    "Timer fired": "定时器触发",
    "Service task retry scheduled": "服务任务已安排重试",
    "Message received": "收到消息",
    "Incident opened": "出现异常",
    "Incident resolved": "异常已解决",
    "Moved to another version": "已迁移到其他版本",
    # layout and lists
    "Task": "任务",
    "Process": "流程",
    "About": "员工",
    "Due": "截止时间",
    "Holder": "处理人",
    "overdue": "已逾期",
    "claimed by me": "我已认领",
    "for me": "给我",
    "Nothing here.": "暂无。",
    "HR processes": "人力资源流程",
    "Main": "主导航",
    "Home": "首页",
    "Tasks": "待办任务",
    "Start a process": "发起流程",
    "My processes": "我的流程",
    "Modeler": "流程建模",
    "Dashboards": "数据看板",
    "Sign out": "退出登录",
    "Version": "版本",
    "Org unit": "组织单位",
    "Started by": "发起人",
    "Ended": "结束时间",
    "Business key": "业务编号",
    "Resume": "恢复",
    "Suspend": "挂起",
    "Terminate": "终止",
    "Verify history chain": "校验审计日志链",
    "Export CSV": "导出 CSV",
    "Diagram": "流程图",
    "completed": "已完成",
    "active": "进行中",
    "waiting": "等待中",
    "error": "出错",
    "Status": "状态",
    "Created": "创建时间",
    "Completed": "完成时间",
    "None.": "无。",
    "Incidents": "异常",
    "Retry": "重试",
    "Timeline": "操作日志",
    "by": "操作人",
    "Data changes": "数据变更",
    # dashboards
    "Group HR dashboards": "集团人力资源数据看板",
    "From": "从",
    "To": "至",
    "Group by": "分组",
    "Clinic": "门店",
    "Role family": "岗位类别",
    "Show": "显示",
    "The chart library is not installed on this server (run “make setup” with Node.js "
    "present); the figures are shown as tables.": "本服务器未安装图表库（请在有 Node.js 的环境运行"
    "“make setup”），数据以表格显示。",
    "Turnover rate (leavers / average headcount)": "人员流动率（离职人数 / 平均在职人数）",
    "Figures": "数据",
    "Training participation": "培训参与率",
    "Open and overdue tasks per process and clinic": "各流程、各门店的待办与逾期任务",
    "Feedback: participation and share closed unresolved": "心声直达：参与率与未解决结案占比",
    "Cycle time per process (average and 90th percentile, hours)": "各流程周期（平均值与第90百分位，小时）",
    "Turnover rate %": "流动率 %",
    "Participation %": "参与率 %",
    "Open": "打开",
    "Overdue": "已逾期",
    "Open tasks": "待办任务",
    "Overdue tasks": "逾期任务",
    "Closed unresolved %": "未解决结案 %",
    "Average (h)": "平均（小时）",
    "90th percentile (h)": "第90百分位（小时）",
    # home
    "Hello, %(name)s": "%(name)s，您好",
    "Hello": "您好",
    "Tasks waiting for me": "我的待办",
    "Open my task list": "打开我的待办任务",
    "Unread notifications": "未读通知",
    "Waiting for me": "等我处理",
    "My running processes": "我的进行中流程",
    "Notifications": "通知",
    # instances
    "The processes you started or that are about you, and where each one stands.": "您发起的或与您有关的流程，以及每个流程进行到哪一步。",
    "Waiting at": "当前步骤",
    "Started": "发起时间",
    "You have not started any process yet.": "您还没有发起过流程。",
    # sign-in
    "Sign in": "登录",
    "Sign in to CareFlow": "登录 CareFlow",
    "Your tasks, your processes and your group's HR work in one place.": "您的任务、流程和集团人力资源工作，一处完成。",
    "Your username and password didn't match. Please try again.": "用户名或密码不正确，请重试。",
    "Username": "用户名",
    "Password": "密码",
    # modeler
    "Process modeler": "流程建模",
    "Open a deployed process, change its diagram or forms, and deploy it as a new version. "
    "Running instances stay on their version.": "打开已部署的流程，修改流程图或表单，并部署为新版本。"
    "运行中的流程实例保留原版本。",
    "version %(number)s": "版本 %(number)s",
    "Open version": "打开版本",
    "%(counter)s version deployed": "已部署 %(counter)s 个版本",
    "Forms and decision tables": "表单与决策表",
    "File": "文件",
    "File content": "文件内容",
    "Deploy as a new version": "部署为新版本",
    "Key": "标识",
    "Latest version": "最新版本",
    "The diagram viewer is not installed on this server: run “make setup” with Node.js present "
    "to install bpmn-js (everything else works without it).": "本服务器未安装流程图查看器：请在有 Node.js 的环境运行"
    "“make setup”安装 bpmn-js（其他功能不受影响）。",
    # processes
    "The processes you may start, for yourself or for the people you are responsible for.": "您可以为自己或为您负责的员工发起的流程。",
    "Start": "发起",
    "There is no process you may start.": "没有您可以发起的流程。",
    "Employee": "员工",
    "Choose an employee": "选择员工",
    # task
    "Claim": "认领",
    "Unclaim": "取消认领",
    "colleague username": "同事的用户名",
    "Delegate to (username)": "转交给（用户名）",
    "Delegate": "转交",
    "Instructions": "说明",
    "Complete task": "提交完成",
    "This task is no longer open.": "此任务已不再待办。",
    "Done: “%(name)s” was completed.": "已完成：“%(name)s”。",
    "All processes": "全部流程",
    "Filter": "筛选",
    "My tasks": "我的任务",
    "Open tasks of my roles": "我所在角色的待办任务",
    "Offered to a role you hold; claim one to make it yours.": "分派给您所担任角色的任务；认领后即归您处理。",
    # employee voice
    "Employee voice": "心声直达",
    "Tell the group what works and what does not. Anonymous feedback is never linked to you: keep the receipt code, it is the only way to follow it.": "告诉集团哪些做得好、哪些需要改进。匿名反馈不会与您关联：请保存回执编号，这是跟进的唯一方式。",
    "Send feedback": "提交心声",
    "Your feedback": "您的心声",
    "Category (optional)": "类别（可选）",
    "Let HR decide": "由人力资源部判断",
    "Send anonymously": "匿名提交",
    "Send": "提交",
    "Received. Your receipt code:": "已接收。您的回执编号：",
    "Follow my feedback": "跟进我的心声",
    "Receipt code": "回执编号",
    "Look up": "查询",
    "Outcome": "处理结果",
    "Reason": "原因",
    "Follow-up plan": "后续计划",
    "Named or anonymous feedback, followed by a receipt code.": "实名或匿名反馈，凭回执编号跟进。",
    # JavaScript
    "You may not do this.": "您无权执行此操作。",
    "This is no longer possible: someone else was quicker or the state changed.": "已无法执行：其他人已处理或状态已变化。",
    "The server answered %s.": "服务器返回 %s。",
    "No feedback has this receipt code. Check it and try again.": "没有与此回执编号对应的心声，请核对后重试。",
    "Too many look-ups from this network. Please wait a minute and try again.": "此网络查询次数过多，请稍候一分钟再试。",
    "The handler's answer cannot be shown here.": "处理人的答复无法在此显示。",
    "The diagram could not be shown: %s": "无法显示流程图：%s",
    "Why terminate this process? The reason is kept in the history.": "为什么终止此流程？原因会记入审计日志。",
    "History chain intact: %s events checked.": "审计日志链完整：已校验 %s 条记录。",
    "History chain broken at event %s: %s": "审计日志链在第 %s 条记录处断开：%s",
    "This value has the wrong type.": "此值的类型不正确。",
    "Must be %s.": "必须为 %s。",
    "Choose one of the options.": "请从选项中选择。",
    "This field is required.": "此项为必填项。",
    "At least %s characters.": "至少 %s 个字符。",
    "At most %s characters.": "最多 %s 个字符。",
    "This value does not have the expected form.": "此值的格式不正确。",
    "Enter a date (YYYY-MM-DD).": "请输入日期（年-月-日）。",
    "At least %s.": "不能小于 %s。",
    "At most %s.": "不能大于 %s。",
    "More than %s.": "必须大于 %s。",
    "Less than %s.": "必须小于 %s。",
    "Must be a multiple of %s.": "必须是 %s 的倍数。",
    "Give at least one.": "至少填写一项。",
    "At least %s items.": "至少 %s 项。",
    "At most %s items.": "最多 %s 项。",
    "Each item only once.": "每项只能出现一次。",
    "Choose…": "请选择…",
    "Document attached.": "已附文件。",
    "Allowed file types: %s.": "允许的文件类型：%s。",
    "The file is larger than %s bytes.": "文件大于 %s 字节。",
    "Uploading…": "正在上传…",
    "Uploaded: %s": "已上传：%s",
    "Remove": "删除",
    "Add another": "再添加一项",
    "One per line.": "每行一项。",
    "Yes": "是",
    "No": "否",
    "Delegated to %s.": "已转交给 %s。",
    "a form is a JSON object": "表单必须是 JSON 对象",
    "Valid JSON. The schema itself is checked when you deploy.": "JSON 格式正确。表单结构将在部署时校验。",
    "%s is not valid JSON: %s": "%s 不是有效的 JSON：%s",
    "Fix the file with invalid JSON first.": "请先修正 JSON 无效的文件。",
    "Deploying…": "正在部署…",
    "version %s": "版本 %s",
    "Deployed as version %s. New instances start on it; running ones stay on theirs.": "已部署为版本 %s。新发起的流程使用此版本，运行中的流程保留原版本。",
    "Nothing changed: this content is version %s.": "内容没有变化：即版本 %s。",
    "The bundle was refused; see the errors below.": "部署被拒绝，错误见下方。",
}

ENTRY = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) (".*")$')


def fill(path: Path) -> list[str]:
    missing = []
    # makemessages may leave no blank line between the header and the first entry.
    text = re.sub(r'(?m)^("[^\n]*"\n)(msgid )', r"\1\n\2", path.read_text(encoding="utf-8"))
    blocks = text.split("\n\n")
    out = []
    for block in blocks:
        lines = block.split("\n")
        parts: dict[str, str] = {}
        key = None
        for line in lines:
            match = ENTRY.match(line)
            if match:
                key = match.group(1)
                parts[key] = json.loads(match.group(2))
            elif line.startswith('"') and key:
                parts[key] += json.loads(line)
        msgid = parts.get("msgid")
        if not msgid:
            out.append(block)
            continue
        zh = ZH.get(msgid)
        if zh is None:
            missing.append(msgid)
            out.append(block)
            continue
        head = [ln for ln in lines if ln.startswith("#")]
        head = [ln for ln in head if ln != "#, fuzzy" and not ln.startswith("#, fuzzy")]
        body = [f"msgid {json.dumps(msgid, ensure_ascii=False)}"]
        if "msgctxt" in parts:
            body.insert(0, f"msgctxt {json.dumps(parts['msgctxt'], ensure_ascii=False)}")
        if "msgid_plural" in parts:
            body.append(f"msgid_plural {json.dumps(parts['msgid_plural'], ensure_ascii=False)}")
            body.append(f"msgstr[0] {json.dumps(zh, ensure_ascii=False)}")
        else:
            body.append(f"msgstr {json.dumps(zh, ensure_ascii=False)}")
        out.append("\n".join(head + body))
    text = "\n\n".join(out)
    text = text.replace(
        '"Content-Type: text/plain; charset=CHARSET\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
    )
    text = text.replace('"Language: \\n"', '"Language: zh_Hans\\n"')
    text = re.sub(r'"Plural-Forms: [^"]*"', '"Plural-Forms: nplurals=1; plural=0;\\\\n"', text)
    text = text.replace('#, fuzzy\nmsgid ""', 'msgid ""')
    path.write_text(text, encoding="utf-8")
    return missing


if __name__ == "__main__":
    folder = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES"
    missing = [m for po in sorted(folder.glob("*.po")) for m in fill(po)]
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    sys.exit(1 if missing else 0)
