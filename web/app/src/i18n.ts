// The app's strings in Chinese (first) and English. Every key must exist in
// both (a unit test checks it); t() falls back to the key.
export type Lang = 'zh' | 'en';

export const strings: Record<Lang, Record<string, string>> = {
  zh: {
    app: '风险区专家工作台',
    login: '登录', logout: '退出', username: '用户名', password: '密码', signedInAs: '{user}（{role}）',
    'role.expert': '专家', 'role.publisher': '发布员', 'role.admin': '管理员',
    county: '区县', search: '搜索地址或楼栋', asOf: '查看时间点', now: '当前', lang: 'English',
    'tab.proposals': '方案', 'tab.zone': '风险区', 'tab.history': '历史', 'tab.layers': '图层', 'tab.publish': '发布',
    run: '运行划区引擎', runAt: '时间', params: '参数（JSON，可空）', running: '正在计算……',
    'run.done': '第 {run} 次运行：{n} 个方案', noProposals: '没有待审方案',
    population: '人口', staff: '需配备工作人员', buildings: '楼栋', area: '面积', rationale: '依据', barriers: '边界屏障',
    onBarriers: '边界沿屏障比例', enlarged: '已按屏障扩大',
    accept: '通过', reject: '驳回', editAccept: '修改后通过', reason: '理由', reasonRequired: '请填写理由',
    accepted: '已通过，生成风险区 {zone}', rejected: '已驳回',
    zones: '风险区', noZone: '请选择一个风险区', version: '版本', status: '状态', level: '等级',
    'level.high': '高风险区', 'level.medium': '中风险区', 'level.low': '低风险区',
    'status.active': '管控中', 'status.lifted': '已解除', 'status.superseded': '已拆分/合并', 'status.proposed': '待审', 'status.accepted': '已通过', 'status.rejected': '已驳回',
    edit: '编辑', tools: '工具',
    'tool.buildings': '点选楼栋', 'tool.vertex': '拖动顶点', 'tool.draw': '画多边形', 'tool.none': '浏览',
    undo: '撤销', redo: '重做', save: '保存', cancel: '取消', saved: '已保存为第 {v} 版',
    added: '新增', removed: '移除', pendingChanges: '未保存：+{a} 楼栋，−{r} 楼栋{g}', geomChanged: '，边界已修改',
    geomFirst: '已修改边界：请先保存，再点选楼栋',
    invalid: '形状无效：{why}', notBuilding: '此处没有楼栋（放大到 14 级以上可点选楼栋）',
    conflict: '冲突：他人已将该风险区改为第 {v} 版（{status}）。', showTheirs: '查看对方版本', reapply: '在新版本上重新应用我的修改',
    history: '版本历史', diff: '差异', diffOf: '第 {from} 版 → 第 {to} 版', buildingsAdded: '新增楼栋', buildingsRemoved: '移除楼栋',
    popDelta: '人口变化', staffFromTo: '工作人员', areaAdded: '新增面积', areaRemoved: '减少面积',
    lifecycle: '解封', lifting: '解除条件', earliest: '最早解除日期', countdown: '距最早解除还有 {d} 天', liftToday: '今日起可解除', earliestPassed: '已过最早解除日期',
    eligible: '符合解除条件', notEligible: '尚不符合解除条件',
    screening: '核酸筛查', roundDate: '日期', tested: '检测人数', negatives: '阴性', positives: '阳性', record: '登记筛查',
    recorded: '已登记筛查', lift: '解除', lifted: '已解除',
    layers: '图层', legend: '图例', 'layer.zones': '风险区', 'layer.published': '已发布风险区', 'layer.proposals': '方案', 'layer.buildings': '楼栋',
    'layer.roads': '道路', 'layer.water': '河流、水面', 'layer.railways': '铁路', 'layer.ridges': '山脊、陡崖', 'layer.walls': '围墙、栅栏', 'layer.admin': '行政区划', 'layer.spread': '病例扩散（H3，受限）', 'layer.cases': '病例（受限）',
    'legend.added': '新增', 'legend.removed': '移除', 'legend.barrier': '边界屏障',
    publish: '发布', preview: '预览通告', publishNow: '发布通告', nothingPending: '没有待发布的变更',
    noticeZh: '通告（中文）', noticeEn: '通告（英文）', cap: 'CAP 1.2 消息', atom: 'Atom 条目', published: '已发布通告 {ids}',
    publicPage: '公众页面', shortcuts: '快捷键：B 点选楼栋 · V 拖动顶点 · P 画多边形 · Esc 浏览 · Ctrl+Z 撤销 · Ctrl+Y 重做 · Ctrl+S 保存',
    error: '错误', loading: '加载中……', close: '关闭', select: '选择', notFound: '未找到',
  },
  en: {
    app: 'Risk zone expert desk',
    login: 'Sign in', logout: 'Sign out', username: 'Username', password: 'Password', signedInAs: '{user} ({role})',
    'role.expert': 'expert', 'role.publisher': 'publisher', 'role.admin': 'admin',
    county: 'County', search: 'Search an address or building', asOf: 'Map as of', now: 'Now', lang: '中文',
    'tab.proposals': 'Proposals', 'tab.zone': 'Zone', 'tab.history': 'History', 'tab.layers': 'Layers', 'tab.publish': 'Publish',
    run: 'Run the proposal engine', runAt: 'Time', params: 'Parameters (JSON, optional)', running: 'Computing…',
    'run.done': 'Run {run}: {n} proposals', noProposals: 'No proposal waits for review',
    population: 'Population', staff: 'Staff required', buildings: 'Buildings', area: 'Area', rationale: 'Rationale', barriers: 'Boundary barriers',
    onBarriers: 'Boundary on barriers', enlarged: 'enlarged along barriers',
    accept: 'Accept', reject: 'Reject', editAccept: 'Edit, then accept', reason: 'Reason', reasonRequired: 'Give a reason',
    accepted: 'Accepted: zone {zone}', rejected: 'Rejected',
    zones: 'Zones', noZone: 'Select a zone', version: 'Version', status: 'Status', level: 'Level',
    'level.high': 'High-risk zone', 'level.medium': 'Medium-risk zone', 'level.low': 'Low-risk zone',
    'status.active': 'active', 'status.lifted': 'lifted', 'status.superseded': 'split/merged', 'status.proposed': 'proposed', 'status.accepted': 'accepted', 'status.rejected': 'rejected',
    edit: 'Edit', tools: 'Tools',
    'tool.buildings': 'Click buildings', 'tool.vertex': 'Drag vertices', 'tool.draw': 'Draw polygon', 'tool.none': 'Browse',
    undo: 'Undo', redo: 'Redo', save: 'Save', cancel: 'Cancel', saved: 'Saved as version {v}',
    added: 'added', removed: 'removed', pendingChanges: 'Unsaved: +{a} buildings, −{r} buildings{g}', geomChanged: ', boundary changed',
    geomFirst: 'The boundary was changed: save it before clicking buildings',
    invalid: 'Invalid shape: {why}', notBuilding: 'No building here (zoom to 14 or more to pick buildings)',
    conflict: 'Conflict: someone else changed this zone; it is now version {v} ({status}).', showTheirs: 'Show their version', reapply: 'Re-apply my edit on the new version',
    history: 'Versions', diff: 'Diff', diffOf: 'version {from} → version {to}', buildingsAdded: 'Buildings added', buildingsRemoved: 'Buildings removed',
    popDelta: 'Population change', staffFromTo: 'Staff', areaAdded: 'Area added', areaRemoved: 'Area removed',
    lifecycle: 'Lifting', lifting: 'Lifting rule', earliest: 'Earliest lifting', countdown: '{d} days to the earliest lifting', liftToday: 'may be lifted from today', earliestPassed: 'the earliest lifting date has passed',
    eligible: 'Eligible for lifting', notEligible: 'Not eligible yet',
    screening: 'Screening round', roundDate: 'Date', tested: 'Tested', negatives: 'Negative', positives: 'Positive', record: 'Record round',
    recorded: 'Screening recorded', lift: 'Lift', lifted: 'Lifted',
    layers: 'Layers', legend: 'Legend', 'layer.zones': 'Zones', 'layer.published': 'Published zones', 'layer.proposals': 'Proposals', 'layer.buildings': 'Buildings',
    'layer.roads': 'Roads', 'layer.water': 'Rivers and water', 'layer.railways': 'Railways', 'layer.ridges': 'Ridges and cliffs', 'layer.walls': 'Walls and fences', 'layer.admin': 'Administrative areas', 'layer.spread': 'Case spread (H3, restricted)', 'layer.cases': 'Cases (restricted)',
    'legend.added': 'added', 'legend.removed': 'removed', 'legend.barrier': 'boundary barrier',
    publish: 'Publish', preview: 'Preview notice', publishNow: 'Publish the notice', nothingPending: 'Nothing waits for publication',
    noticeZh: 'Notice (Chinese)', noticeEn: 'Notice (English)', cap: 'CAP 1.2 message', atom: 'Atom entry', published: 'Published notice {ids}',
    publicPage: 'Public page', shortcuts: 'Keys: B click buildings · V drag vertices · P draw polygon · Esc browse · Ctrl+Z undo · Ctrl+Y redo · Ctrl+S save',
    error: 'Error', loading: 'Loading…', close: 'Close', select: 'Select', notFound: 'Not found',
  },
};

let lang: Lang = 'zh';
export function setLang(l: Lang): void { lang = l; }
export function getLang(): Lang { return lang; }

/** t translates key, filling {name} placeholders from params. */
export function t(key: string, params: Record<string, string | number> = {}): string {
  const s = strings[lang][key] ?? strings.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}
