package demo

import (
	"strconv"
	"strings"
)

// A word is a Chinese name part with its pinyin, used for English names.
type word struct{ zh, en string }

// The demo county and its parents. The county is fictional; its authority is
// the issuing body of its notices.
var (
	provinceName = word{"示范省", "Shifan Province"}
	cityName     = word{"示范市", "Shifan City"}
	countyName   = word{"临河区", "Linhe District"}
)

const (
	countyAuthority = "临河区新冠肺炎疫情防控指挥部"
	provinceCode    = "990000"
	cityCode        = "990100"
	countyCode      = "990102"
)

// streetWords name streets (街道) and arterial roads.
var streetWords = []word{
	{"文化", "Wenhua"}, {"建设", "Jianshe"}, {"和平", "Heping"}, {"解放", "Jiefang"},
	{"人民", "Renmin"}, {"胜利", "Shengli"}, {"幸福", "Xingfu"}, {"光明", "Guangming"},
	{"新华", "Xinhua"}, {"朝阳", "Chaoyang"}, {"东风", "Dongfeng"}, {"青年", "Qingnian"},
	{"工业", "Gongye"}, {"民主", "Minzhu"}, {"团结", "Tuanjie"}, {"振兴", "Zhenxing"},
	{"兴隆", "Xinglong"}, {"长青", "Changqing"}, {"丰收", "Fengshou"}, {"永安", "Yongan"},
	{"太平", "Taiping"}, {"北园", "Beiyuan"}, {"南苑", "Nanyuan"}, {"西关", "Xiguan"},
	{"东关", "Dongguan"}, {"河滨", "Hebin"}, {"泉城", "Quancheng"}, {"柳园", "Liuyuan"},
	{"桃园", "Taoyuan"}, {"杏林", "Xinglin"}, {"荷花", "Hehua"}, {"龙山", "Longshan"},
	{"白马", "Baima"}, {"金桥", "Jinqiao"}, {"玉泉", "Yuquan"}, {"清河", "Qinghe"},
	{"双龙", "Shuanglong"}, {"新城", "Xincheng"}, {"古城", "Gucheng"}, {"长安", "Changan"},
	{"安康", "Ankang"}, {"万寿", "Wanshou"}, {"大观", "Daguan"}, {"舜耕", "Shungeng"},
	{"历山", "Lishan"}, {"燕山", "Yanshan"}, {"千佛", "Qianfo"}, {"趵突", "Baotu"},
}

// streetQualifiers multiply streetWords when a big county needs more names.
var streetQualifiers = []word{
	{"", ""}, {"路", "lu"}, {"东", "dong"}, {"西", "xi"}, {"南", "nan"}, {"北", "bei"},
	{"中", "zhong"}, {"新", "xin"}, {"门", "men"}, {"桥", "qiao"}, {"园", "yuan"}, {"里", "li"},
}

// communityWords name communities (社区) and local roads.
var communityWords = []word{
	{"锦绣", "Jinxiu"}, {"翠竹", "Cuizhu"}, {"紫薇", "Ziwei"}, {"丁香", "Dingxiang"},
	{"海棠", "Haitang"}, {"玉兰", "Yulan"}, {"枫林", "Fenglin"}, {"松柏", "Songbai"},
	{"银杏", "Yinxing"}, {"芙蓉", "Furong"}, {"百合", "Baihe"}, {"石榴", "Shiliu"},
	{"樱花", "Yinghua"}, {"青松", "Qingsong"}, {"春晖", "Chunhui"}, {"朝霞", "Zhaoxia"},
	{"晨光", "Chenguang"}, {"月华", "Yuehua"}, {"星河", "Xinghe"}, {"明湖", "Minghu"},
	{"碧波", "Bibo"}, {"翠园", "Cuiyuan"}, {"金秋", "Jinqiu"}, {"瑞祥", "Ruixiang"},
	{"祥和", "Xianghe"}, {"康乐", "Kangle"}, {"福寿", "Fushou"}, {"安居", "Anju"},
	{"乐业", "Leye"}, {"嘉禾", "Jiahe"}, {"兴业", "Xingye"}, {"恒安", "Hengan"},
	{"北苑", "Beiyuan"}, {"东苑", "Dongyuan"}, {"西苑", "Xiyuan"}, {"南关", "Nanguan"},
	{"花园", "Huayuan"}, {"新村", "Xincun"}, {"和谐", "Hexie"}, {"宏昌", "Hongchang"},
}

// communityQualifiers multiply communityWords.
var communityQualifiers = []word{
	{"", ""}, {"东", "dong"}, {"西", "xi"}, {"南", "nan"}, {"北", "bei"}, {"中", "zhong"},
	{"里", "li"}, {"苑", "yuan"}, {"新", "xin"}, {"前", "qian"}, {"后", "hou"}, {"一", "yi"},
	{"二", "er"}, {"三", "san"}, {"四", "si"}, {"五", "wu"},
}

// compoundPrefixes and compoundSuffixes make compound (小区) names such as
// 城建花园小区; the prefixes also name shops, offices and schools.
var compoundPrefixes = []string{
	"城建", "阳光", "金色", "翠湖", "锦绣", "华府", "绿城", "世纪", "名仕", "盛世",
	"碧水", "蓝天", "紫荆", "电力", "铁路", "邮电", "粮食", "纺织", "机床", "化工",
	"供销", "教师", "卫生", "御景", "东方", "天泰", "舜华", "泉景", "鑫苑", "领秀",
	"万象", "和谐", "新世纪", "福瑞", "康桥", "丽都", "枫情", "书香", "翡翠", "明珠",
	"凯旋", "鸿福", "瑞景", "泰和", "长城", "锦华", "嘉德", "怡和", "天润", "泉韵",
	"荷香", "山水", "玉河", "佳和", "金鼎", "银座", "宏大", "水岸", "春风", "秋实",
	"翠峰", "东湖", "西湖", "南山", "北辰", "汇源", "兴华", "永康", "盛景", "馨雅",
	"润泽", "恒通", "建工", "农科", "电业", "交通", "公安", "税务", "烟草", "银行",
	"师范", "外贸", "粮油", "水利", "林业", "地矿", "黄河", "泉城", "历山", "燕山",
	"千佛", "大明", "华山", "鹊山", "舜耕", "玉函", "英雄", "经典", "香榭", "华侨",
	"紫御", "万达", "清河", "柳岸", "桃源", "梨园", "杏坛", "荷塘", "芙蓉", "海棠",
	"金桥", "银河", "星光", "月亮", "彩虹", "晨曦", "朝阳", "夕阳", "康乐", "幸福",
}

var compoundSuffixes = []string{
	"花园", "家园", "新村", "苑", "雅苑", "名苑", "华庭", "嘉园",
	"公寓", "新城", "佳苑", "丽景", "馨园", "花苑", "山庄", "宿舍",
	"小筑", "雅居", "景园", "人家", "府", "湾", "里", "庄园",
}

// compoundQualifiers tell apart compounds that share a name in counties
// larger than the name space: 城建花园二期小区.
var compoundQualifiers = []string{"二期", "三期", "东区", "西区", "南区", "北区", "一区", "二区", "三区", "四区"}

// Unit names, 一单元 to 六单元 (a unit is a stairwell entrance).
var unitNames = [...]string{"", "一单元", "二单元", "三单元", "四单元", "五单元", "六单元"}

var cnDigits = [...]string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

// cnNumber writes 1..999 in Chinese numerals (十一, 二十, 一百零五).
func cnNumber(n int) string {
	if n <= 0 || n > 999 {
		return itoa(n)
	}
	var b strings.Builder
	h, t, u := n/100, n/10%10, n%10
	if h > 0 {
		b.WriteString(cnDigits[h])
		b.WriteString("百")
		if t == 0 && u != 0 {
			b.WriteString("零")
		}
	}
	if t > 0 {
		if !(t == 1 && h == 0) {
			b.WriteString(cnDigits[t])
		}
		b.WriteString("十")
	}
	if u > 0 {
		b.WriteString(cnDigits[u])
	}
	return b.String()
}

// permute maps i in [0, m) to a distinct value in [0, m): consecutive
// entities get unrelated-looking names, and every name in the space is used
// once before any repeats. stride must be coprime with m; pickStride finds one.
func permute(i, m, stride, offset int) int {
	return int((int64(i)*int64(stride) + int64(offset)) % int64(m))
}

// pickStride returns a stride coprime with m near m*0.618 so that permute
// spreads neighbours apart.
func pickStride(m int) int {
	if m <= 2 {
		return 1
	}
	s := int(float64(m)*0.618) | 1
	for gcd(s, m) != 1 {
		s++
	}
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// namer hands out the names of one county. It is built from the seed and
// holds no state besides its fixed permutation parameters.
type namer struct {
	streetStride, streetOffset       int
	communityStride, communityOffset int
	compoundStride, compoundOffset   int
}

func newNamer(seed uint64) namer {
	ns := len(streetWords) * len(streetQualifiers)
	nc := len(communityWords) * len(communityQualifiers)
	np := len(compoundPrefixes) * len(compoundSuffixes)
	return namer{
		streetStride: pickStride(ns), streetOffset: int(seed % uint64(ns)),
		communityStride: pickStride(nc), communityOffset: int((seed / 7) % uint64(nc)),
		compoundStride: pickStride(np), compoundOffset: int((seed / 13) % uint64(np)),
	}
}

// street returns the name of street i (0-based): "文化路街道", "Wenhualu Subdistrict".
// Streets beyond the name space (only in benchmark-sized counties) get an ordinal.
func (n namer) street(i int) (zh, en string) {
	m := len(streetWords) * len(streetQualifiers)
	j := permute(i%m, m, n.streetStride, n.streetOffset)
	w, q := streetWords[j%len(streetWords)], streetQualifiers[j/len(streetWords)]
	zh, en = w.zh+q.zh, w.en+q.en
	if k := i / m; k > 0 {
		zh += cnNumber(k + 1)
		en += itoa(k + 1)
	}
	return zh + "街道", en + " Subdistrict"
}

// community returns the name of community i: "锦绣社区", "Jinxiu Community".
func (n namer) community(i int) (zh, en string) {
	m := len(communityWords) * len(communityQualifiers)
	j := permute(i%m, m, n.communityStride, n.communityOffset)
	w, q := communityWords[j%len(communityWords)], communityQualifiers[j/len(communityWords)]
	zh, en = w.zh+q.zh, w.en+q.en
	if k := i / m; k > 0 {
		zh += cnNumber(k + 1)
		en += itoa(k + 1)
	}
	return zh + "社区", en + " Community"
}

// compoundStem returns the distinctive part of compound i's name, e.g.
// "城建花园", and the prefix alone ("城建") for the names of the shops and
// schools on its block. The first 2,880 compounds get distinct plain names;
// later ones repeat them with a qualifier (城建花园二期), then with a number.
func (n namer) compoundStem(i int) (stem, prefix string) {
	m := len(compoundPrefixes) * len(compoundSuffixes)
	j := permute(i%m, m, n.compoundStride, n.compoundOffset)
	p := compoundPrefixes[j%len(compoundPrefixes)]
	stem = p + compoundSuffixes[j/len(compoundPrefixes)]
	switch q := i / m; {
	case q == 0:
	case q <= len(compoundQualifiers):
		stem += compoundQualifiers[q-1]
	default:
		stem += cnNumber(q+1) + "期"
	}
	return stem, p
}

// arterialName names the road on grid line i (roads running east-west when
// ew is set): 文化路 east-west, 文化大街 north-south.
func arterialName(i int, ew bool) string {
	w := streetWords[(i*7+3)%len(streetWords)].zh
	if ew {
		return w + "路"
	}
	return w + "大街"
}

// secondaryName names secondary roads in the 经/纬 pattern: north-south roads
// are 经N路, east-west roads 纬N路.
func secondaryName(i int, ew bool) string {
	if ew {
		return "纬" + cnNumber(i) + "路"
	}
	return "经" + cnNumber(i) + "路"
}

// localName names local roads: 锦绣街 north-south, 锦绣巷 east-west.
func localName(i int, ew bool) string {
	w := communityWords[(i*11+5)%len(communityWords)].zh
	if ew {
		return w + "巷"
	}
	return w + "街"
}

func itoa(n int) string { return strconv.Itoa(n) }
