# ruff: noqa: E501 - a table of translations, one per line
"""Fill web/locale/zh_Hans/*.po from ZH below (terms from shared/GLOSSARY.md), then compile.

Run after `makemessages`: python web/locale/translate_zh.py && (cd web && django-admin compilemessages)
"""

import json
import re
import sys
from pathlib import Path

ZH = {
    # BPMN element types and changed fields in the deploy diff (web/labels.py)
    "Start event": "开始事件",
    "End event": "结束事件",
    "Intermediate catch event": "中间捕获事件",
    "Intermediate throw event": "中间抛出事件",
    "Boundary event": "边界事件",
    "Send task": "发送任务",
    "Receive task": "接收任务",
    "User task": "用户任务",
    "Manual task": "手工任务",
    "Script task": "脚本任务",
    "Service task": "服务任务",
    "Business rule task": "业务规则任务",
    "Call activity": "调用活动",
    "Subprocess": "子流程",
    "Transaction subprocess": "事务子流程",
    "Exclusive gateway": "排他网关",
    "Inclusive gateway": "包容网关",
    "Parallel gateway": "并行网关",
    "Event-based gateway": "事件网关",
    "Parallel multi-instance task": "并行多实例任务",
    "Sequential multi-instance task": "串行多实例任务",
    "type": "类型",
    "name": "名称",
    "process": "流程",
    "lane": "泳道",
    "service operation": "服务操作",
    "parameters": "参数",
    "decision table": "决策表",
    "called process": "被调用流程",
    "messages": "消息",
    "properties": "属性",
    "scripts": "脚本",
    "incoming flows": "入口连线",
    "outgoing flows": "出口连线",
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
    "Too many failed sign-ins for this username. It is locked: try again in %(minutes)s minute.": "该用户名登录失败次数过多，已被锁定，请 %(minutes)s 分钟后再试。",
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
    "Delegate to a colleague who could work this task": "转交给可以处理此任务的同事",
    "Looking for colleagues…": "正在查找同事…",
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
    "A question for you": "处理人想向您了解",
    "The people handling your feedback would like to know more. Your answer is sent with the receipt code only: it is not linked to you.": "处理您心声的同事希望了解更多情况。您的答复仅凭回执编号发送，不会与您关联。",
    "Your answer": "您的答复",
    "Send answer": "发送答复",
    "This question no longer waits for an answer.": "该问题已不再等待答复。",
    "Thank you: your answer was sent.": "谢谢，您的答复已发送。",
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
    "Choose a colleague…": "请选择同事…",
    "No one else can take this task": "没有其他人可以接手此任务",
    "a form is a JSON object": "表单必须是 JSON 对象",
    "Valid JSON. The schema itself is checked when you deploy.": "JSON 格式正确。表单结构将在部署时校验。",
    "%s is not valid JSON: %s": "%s 不是有效的 JSON：%s",
    "Fix the file with invalid JSON first.": "请先修正 JSON 无效的文件。",
    "Deploying…": "正在部署…",
    "version %s": "版本 %s",
    "Deployed as version %s. New instances start on it; running ones stay on theirs.": "已部署为版本 %s。新发起的流程使用此版本，运行中的流程保留原版本。",
    "Nothing changed: this content is version %s.": "内容没有变化：即版本 %s。",
    # deploy approvals (four-eyes deploy)
    "Deploy approvals": "部署审批",
    "Version %(number)s compared with version %(against)s.": "版本 %(number)s 与版本 %(against)s 的对比。",
    "Version %(number)s is the first version of this process: everything in it is new.": "版本 %(number)s 是此流程的第一个版本：其中全部内容均为新增。",
    "The current version is now %(current)s.": "当前生效版本现为 %(current)s。",
    "Operations": "服务操作",
    "added": "新增",
    "removed": "删除",
    "changed": "修改",
    "high impact": "高影响",
    "No operation added or removed.": "没有新增或删除服务操作。",
    "Elements": "流程元素",
    "Change": "变更",
    "Element": "元素",
    "Type": "类型",
    "Lane": "泳道",
    "Operation": "服务操作",
    "What changed": "变更内容",
    "No element added, removed or changed.": "没有新增、删除或修改的元素。",
    "Lanes and messages": "泳道与消息",
    "lane added": "新增泳道",
    "lane removed": "删除泳道",
    "message added": "新增消息",
    "message removed": "删除消息",
    "message changed": "消息用法变更",
    "No lane or message added or removed.": "没有新增或删除泳道、消息。",
    "A new version that adds or changes a high-impact operation (revoking access, pay, eligibility, closing feedback), or starts on or catches a message another process uses, becomes current only when group HR approves it, never the person who deployed it. Until then new instances start on the current version.": "新版本若新增或修改高影响操作（停用系统账号、发放或扣减薪酬、变更上岗资格、关闭心声反馈），或以其他流程使用的消息启动或接收该消息，须经集团人力资源部审批后才生效，部署人本人不能审批。在此之前，新发起的流程仍使用当前版本。",
    "Waiting for approval": "待审批",
    "Deployed by %(who)s at %(when)s.": "由 %(who)s 于 %(when)s 部署。",
    "Why a second person must approve it": "为什么需要另一人审批",
    "Adds a call to the high-impact operation %(operation)s (%(element)s).": "新增对高影响操作 %(operation)s 的调用（%(element)s）。",
    "Changes a call to the high-impact operation %(operation)s (%(element)s).": "修改了对高影响操作 %(operation)s 的调用（%(element)s）。",
    "Starts on or catches the message %(message)s (%(element)s), which %(used_by)s already use.": "以消息 %(message)s 启动或接收该消息（%(element)s），而 %(used_by)s 已在使用此消息。",
    "The process owner asked for a review.": "流程负责人主动申请了审批。",
    "Comment (optional)": "审批意见（选填）",
    "Approve: make it current": "批准：设为当前版本",
    "Reject": "驳回",
    "You deployed this version: another person of group HR must approve or reject it.": "此版本由您部署：须由集团人力资源部的另一位同事审批或驳回。",
    "Waiting for group HR to approve it. New instances start on the current version until then.": "等待集团人力资源部审批。在此之前，新发起的流程仍使用当前版本。",
    "No deploy is waiting for approval.": "没有待审批的部署。",
    "Recent decisions": "最近的审批结果",
    "Decision": "审批结果",
    "Deployed by": "部署人",
    "Decided by": "审批人",
    "When": "时间",
    "Comment": "意见",
    "Approved": "已批准",
    "Rejected": "已驳回",
    "No deploy was approved or rejected yet.": "尚无已批准或驳回的部署。",
    "%(counter)s waiting for approval": "%(counter)s 个待审批",
    "waiting for approval": "待审批",
    "rejected": "已驳回",
    "current": "当前版本",
    "Version %(number)s is waiting for approval by group HR. New instances start on the current version until then.": "版本 %(number)s 正等待集团人力资源部审批。在此之前，新发起的流程仍使用当前版本。",
    "See the diff": "查看差异",
    "Ask group HR to approve it (needed to start on or catch a message another process uses)": "申请集团人力资源部审批（以其他流程使用的消息启动或接收该消息时必须）",
    "Deployed as version %s, waiting for approval by group HR: it changes high-impact operations or reserved messages. New instances start on the current version until then.": "已部署为版本 %s，等待集团人力资源部审批：它变更了高影响操作或保留消息。在此之前，新发起的流程仍使用当前版本。",
    "Approved: this version is now current.": "已批准：此版本现为当前版本。",
    "Rejected: this version will not run.": "已驳回：此版本不会运行。",
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
