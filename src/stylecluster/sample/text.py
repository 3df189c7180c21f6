"""Chinese captions and hashtags for the synthetic sample, built from per-style and shared vocabularies.

Captions read like Xiaohongshu posts. About half of the outfit captions say nothing about the garment
(`GENERIC_CAPTION_RATE`): diary-style chatter about the day, weather, mood, work, food, travel or a
shopping haul, and interaction phrases ('求链接', '今日份营业', '姐妹们冲') shared by every style; of
those, part carry only generic hashtags (`GENERIC_TAGS_RATE`), the rest one hashtag of their style. The
other captions name the style in one sentence (style, colour, material, occasion and feeling words in a
few templates), often mixed into the same chatter. Lengths are heavy-tailed: most captions are 5-60
characters, about a sixth (`RAMBLE_RATES`) run on for 200-800 characters of mostly generic chatter. Emoji and
sometimes the ' - 小红书,,MM-DD,,' tail a scraper leaves are added. Every function takes an explicit
`numpy.random.Generator`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

STYLES: tuple[str, ...] = ("连衣裙", "旗袍", "马面裙", "大衣", "西装", "卫衣+牛仔裤", "羽绒服", "运动套装")
NON_OUTFIT_LABELS: dict[str, str] = {"scenery": "风景", "food": "美食", "face": "自拍特写"}


def _pick(rng: np.random.Generator, seq: Sequence[str]) -> str:
    return seq[int(rng.integers(len(seq)))]


STYLE_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "连衣裙": {
        "name": ("连衣裙", "碎花连衣裙", "花卉连衣裙", "波点裙", "法式连衣裙", "茶歇裙", "小裙子", "伞裙"),
        "material": ("雪纺", "棉麻", "真丝", "醋酸"),
        "occasion": ("约会", "春游", "海边度假", "下午茶", "拍照"),
        "emoji": ("👗", "🌸", "🌷", "☀️"),
        "tags": ("#连衣裙", "#气质连衣裙", "#显瘦连衣裙", "#碎花裙", "#法式连衣裙", "#夏日穿搭", "#裙子推荐"),
    },
    "旗袍": {
        "name": ("旗袍", "改良旗袍", "新中式旗袍", "真丝旗袍", "日常旗袍"),
        "material": ("真丝", "香云纱", "织锦缎", "丝绒"),
        "occasion": ("喝茶", "婚礼", "拍照", "逛园林", "过节"),
        "emoji": ("🏮", "🌹", "✨", "🍵"),
        "tags": ("#旗袍", "#改良旗袍", "#新中式", "#国风穿搭", "#旗袍美人", "#东方美"),
    },
    "马面裙": {
        "name": ("马面裙", "织金马面裙", "明制马面裙", "新中式马面裙", "马面"),
        "material": ("织金", "妆花", "提花", "缎面"),
        "occasion": ("过年", "逛庙会", "汉服日", "拍照", "上班"),
        "emoji": ("🧧", "🏮", "🌸", "✨"),
        "tags": ("#马面裙", "#马面裙穿搭", "#汉服日常", "#新中式穿搭", "#国风", "#织金马面裙"),
    },
    "大衣": {
        "name": ("大衣", "长款大衣", "毛呢大衣", "双面呢大衣", "羊毛大衣", "双排扣大衣"),
        "material": ("羊毛", "双面呢", "羊绒", "毛呢"),
        "occasion": ("通勤", "上班", "约会", "逛街", "出差"),
        "emoji": ("🧥", "🍂", "❄️", "☕"),
        "tags": ("#大衣", "#大衣穿搭", "#毛呢大衣", "#冬季穿搭", "#秋冬穿搭", "#通勤穿搭"),
    },
    "西装": {
        "name": ("西装", "西装外套", "西装套装", "小西装", "oversize西装"),
        "material": ("垂感", "羊毛", "醋酸", "亚麻"),
        "occasion": ("面试", "上班", "开会", "通勤", "见客户"),
        "emoji": ("💼", "🖤", "✨", "👔"),
        "tags": ("#西装", "#西装穿搭", "#职场穿搭", "#通勤穿搭", "#西装外套", "#OL穿搭"),
    },
    "卫衣+牛仔裤": {
        "name": ("卫衣", "连帽卫衣", "卫衣配牛仔裤", "牛仔裤", "直筒牛仔裤", "休闲卫衣"),
        "material": ("纯棉", "加绒", "毛圈", "牛仔"),
        "occasion": ("上课", "逛街", "周末", "看电影", "出去玩"),
        "emoji": ("👖", "😎", "🎧", "🍟"),
        "tags": ("#卫衣", "#卫衣穿搭", "#牛仔裤", "#牛仔裤穿搭", "#学生党穿搭", "#休闲穿搭"),
    },
    "羽绒服": {
        "name": ("羽绒服", "短款羽绒服", "长款羽绒服", "面包服", "白鸭绒羽绒服"),
        "material": ("白鸭绒", "鹅绒", "加厚", "防风"),
        "occasion": ("去东北", "滑雪", "上班", "过年回家", "看雪"),
        "emoji": ("❄️", "⛄", "🧣", "🥶"),
        "tags": ("#羽绒服", "#羽绒服穿搭", "#面包服", "#冬季穿搭", "#保暖穿搭", "#东北穿搭"),
    },
    "运动套装": {
        "name": ("运动套装", "运动服", "卫衣套装", "休闲运动套装", "三道杠套装"),
        "material": ("速干", "纯棉", "针织", "弹力"),
        "occasion": ("健身", "跑步", "遛狗", "晨练", "爬山"),
        "emoji": ("🏃\u200d♀️", "💪", "👟", "🔥"),
        "tags": ("#运动套装", "#运动穿搭", "#健身穿搭", "#运动风", "#休闲运动", "#跑步穿搭"),
    },
}
COLOURS = ("白色", "黑色", "红色", "酒红色", "藏青色", "灰色", "粉色", "墨绿色", "蓝色", "米白色", "紫色",
           "黄色", "奶油色", "撞色")
FEELINGS = ("显瘦", "温柔", "有气质", "高级感", "很仙", "松弛感", "很飒", "减龄", "好看", "舒服", "百搭",
            "显白", "有质感")
EMOJI = ("❤️", "✨", "🌸", "👗", "😍", "🥰", "💕", "🔥", "👍", "🌹", "💖", "😘")
GENERIC_EMOJI = tuple(e for e in EMOJI if e != "👗")  # no garment emoji where no garment is named
GENERIC_TAGS = ("#每日穿搭", "#ootd", "#穿搭分享", "#今天穿什么", "#日常穿搭", "#小个子穿搭", "#显瘦穿搭",
                "#穿搭灵感", "#一周穿搭", "#氛围感穿搭", "#氛围感", "#日常", "#我的日常", "#生活碎片",
                "#今日份穿搭", "#出片", "#拍照姿势", "#梨形身材穿搭")
NOISE_TAGS = ("#白茶姐弟", "#我的穿搭日记", "#小红书成长笔记", "#好物分享", "#宝藏店铺", "#博主同款")
TEMPLATES = (
    "{colour}{name}这样搭配真的好好看{e}",
    "今天穿{colour}{material}{name}去{occasion}，{feeling}到爆{e}",
    "{occasion}穿搭｜{colour}{name}，谁穿谁{feeling}{e}",
    "挖到宝了！这件{name}也太{feeling}了吧{e}{e2}",
    "{feeling}{name}分享，{material}面料超舒服{e}",
    "一周穿搭不重样 Day{n}：{colour}{name}{e}",
    "姐妹们冲！{colour}{name}{feeling}又{feeling2}{e}",
    "小个子也能穿的{name}，{feeling}显高{e}",
    "{name}｜{occasion}的时候穿刚刚好{e}",
    "被问爆的{colour}{name}链接来啦{e}{e2}",
)
EXTRA_SENTENCES = ("评论区告诉我你们最喜欢哪一套", "链接在主页", "真的很推荐", "身高160体重90斤参考",
                   "闭眼入不踩雷", "照片原相机直出", "求夸")

NON_OUTFIT_TEXT: dict[str, dict[str, tuple[str, ...]]] = {
    "scenery": {
        "caption": ("今天的天空太美了{e}", "周末去看海，风好舒服{e}", "爬山看到的风景，值了{e}",
                    "城市夜景也太好看了吧{e}", "随手一拍就是壁纸{e}"),
        "tags": ("#旅行", "#风景", "#治愈系风景", "#周末去哪儿", "#随手拍", "#天空"),
    },
    "food": {
        "caption": ("这家店也太好吃了吧{e}", "今日份快乐是美食给的{e}", "周末探店，推荐这几道菜{e}",
                    "自己做的晚饭，夸我{e}", "减肥从明天开始{e}"),
        "tags": ("#美食", "#探店", "#吃货日常", "#今天吃什么", "#家常菜", "#一人食"),
    },
    "face": {
        "caption": ("今日妆容分享{e}", "素颜出镜，皮肤状态还不错{e}", "换了新发型，好看吗{e}",
                    "自拍一张{e}", "最近很喜欢的口红色号{e}"),
        "tags": ("#妆容分享", "#自拍", "#日常妆", "#发型", "#口红试色", "#素颜"),
    },
}
# Generic chatter shared by every style (and by the long_caption failure mode): no garment is named.
_WHEN = ("今天早上", "昨天晚上", "上周末", "下班路上", "中午休息的时候", "刚才", "前几天", "放假第一天",
         "凌晨两点", "周一一大早")
_WHAT = ("去公司开了一整天的会", "在地铁上被挤得喘不过气", "和闺蜜去吃了火锅", "带着猫去打了疫苗",
         "一个人在家追了八集剧", "跟老板汇报了季度方案", "去银行办了半天业务", "坐高铁回了一趟老家",
         "在咖啡店写了一下午报告", "帮妈妈整理了阳台上的花", "去驾校练了科目二", "排队两个小时买奶茶",
         "搬家收拾到腰都直不起来", "在机场等了三个小时", "陪弟弟写作业写到崩溃")
_THOUGHT = ("感觉人生真的好难", "突然觉得生活还挺美好的", "真的不知道该说什么", "心情复杂得很",
            "决定以后要早点睡觉", "想想还是算了", "回来的路上下起了大雨", "手机还差点没电",
            "第二天还要早起", "说好的减肥又失败了", "钱包又瘦了一圈", "打算下个月去旅行放松一下")
# Whole chatter sentences by topic: weather, mood, work, food, travel, shopping haul, body, the look.
CHATTER: tuple[str, ...] = (
    "今天降温了好冷", "外面太阳好大晒得睁不开眼", "下了一整天的雨", "今天天气超级好适合出门",
    "回南天衣服都晾不干", "风大到头发乱飞", "终于等到晴天了", "闷热得像蒸笼一样",
    "心情美美的", "最近有点emo", "今天莫名其妙很开心", "社恐的我今天鼓起勇气出门了", "累到不想说话",
    "好想躺平啊", "希望明天也是好天气", "给自己打打气", "加班到九点才走", "今天的会开得头都大了",
    "周一综合症又犯了", "明天要交论文", "终于考完试了", "领导今天居然夸我了", "打工人的一天又结束了",
    "中午吃了一碗超好吃的牛肉面", "下午茶点了杨枝甘露", "晚上和朋友吃了烤肉", "新开的面包店排了好久的队",
    "奶茶续命", "自己做了一顿减脂餐", "周末去了一趟杭州", "在大理晒了三天太阳", "高铁上写下这篇笔记",
    "第一次来成都被美食征服了", "随手拍的街景也太出片了", "在外滩吹了一晚上的风", "最近又剁手了好几件",
    "快递堆成山了", "这家店回购了很多次", "价格很美丽", "买了好几个颜色", "质量比想象中好很多",
    "尺码正常拍就可以", "身高160体重90斤参考", "小个子友好", "梨形身材也能穿", "照片原相机直出",
    "今天这身被同事夸了", "这套真的百穿不腻", "朋友说我今天像换了个人", "出门前换了三套才定下来",
    "评论区告诉我你们最喜欢哪一套", "有问题可以在评论区问我", "喜欢的话点个赞吧", "你们觉得哪套好看",
    "关注我看更多日常", "有同款的姐妹吗", "链接在主页", "闭眼入不踩雷", "真的很推荐",
)
# Short interaction phrases that make up whole posts on their own.
SHORT_PHRASES: tuple[str, ...] = (
    "求链接", "今日份营业", "姐妹们冲", "今日份穿搭打卡", "随手拍拍", "又是上班的一天", "周末愉快",
    "好久没更新了", "记录一下今天", "冲冲冲", "这套你们打几分", "日常碎片", "早安打工人", "随便穿穿",
    "出门啦", "拍照打卡", "快夸我", "周五快乐", "终于放假了", "今日份松弛感", "宝子们看过来", "求夸",
    "今天也是元气满满的一天", "别问，问就是喜欢",
)
# Feeling words about 'this look' without naming it.
LOOK_TEMPLATES = ("今天这身{feeling}到不行", "这套{feeling}又{feeling2}", "{colour}真的太{feeling}了",
                  "谁懂啊这一身也太{feeling}了", "今天的配色{feeling}")
GENERIC_CAPTION_RATE = 0.5  # outfit captions naming no garment
GENERIC_TAGS_RATE = 0.5     # of those, the share whose hashtags are all generic too
# By `mention` (whether the caption names the style): share of captions running on for 200-800
# characters, and the median and sigma of the log-normal target length (characters) of the others.
RAMBLE_RATES = {False: 0.2, True: 0.04}
LENGTHS = {False: (90.0, 0.8), True: (20.0, 0.8)}
MAX_CHARS = 800


def _chatter(rng: np.random.Generator) -> str:
    """One generic sentence: a topic sentence, a when/what/thought line, a look remark or a phrase."""
    u = rng.random()
    if u < 0.45:
        return _pick(rng, CHATTER)
    if u < 0.7:
        return f"{_pick(rng, _WHEN)}{_pick(rng, _WHAT)}，{_pick(rng, _THOUGHT)}"
    if u < 0.85:
        return _pick(rng, LOOK_TEMPLATES).format(colour=_pick(rng, COLOURS), feeling=_pick(rng, FEELINGS),
                                                 feeling2=_pick(rng, FEELINGS))
    return _pick(rng, SHORT_PHRASES)


def _style_sentence(rng: np.random.Generator, style: str) -> str:
    words = STYLE_WORDS[style]
    fill = {
        "name": _pick(rng, words["name"]), "colour": _pick(rng, COLOURS), "material": _pick(rng, words["material"]),
        "occasion": _pick(rng, words["occasion"]), "feeling": _pick(rng, FEELINGS), "feeling2": _pick(rng, FEELINGS),
        "e": _pick(rng, EMOJI + words["emoji"]), "e2": _pick(rng, EMOJI + words["emoji"]),
        "n": str(int(rng.integers(1, 8))),
    }
    return _pick(rng, TEMPLATES).format(**fill)


def caption_length(rng: np.random.Generator, mention: bool) -> int:
    """Target length in characters: log-normal (`LENGTHS`), or 200-800 (log-uniform) for a ramble."""
    if rng.random() < RAMBLE_RATES[mention]:
        return int(round(math.exp(rng.uniform(math.log(200), math.log(MAX_CHARS)))))
    median, sigma = LENGTHS[mention]
    return min(MAX_CHARS, max(3, int(round(median * math.exp(sigma * rng.standard_normal())))))


def style_caption(rng: np.random.Generator, style: str, date_tail: str | None, mention: bool = True) -> str:
    """One outfit caption; `date_tail` ('MM-DD') appends the scraper's platform tail.

    Args:
        rng: The post's generator.
        style: The outfit's style.
        date_tail: 'MM-DD' for the ' - 小红书,,MM-DD,,' tail, or None.
        mention: Whether the caption names the style (in one sentence, at a random place among the
            chatter); False gives generic chatter only, the same for every style.

    Returns:
        The caption, `caption_length` characters long or a little more.
    """
    target = caption_length(rng, mention)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(_chatter(rng))
        if len(parts) > 2 and rng.random() < 0.1:
            parts[-1] += _pick(rng, GENERIC_EMOJI)
    if mention:
        first = _style_sentence(rng, style)
        if target <= len(first) + 4 or rng.random() < 0.6:  # short posts: the style sentence alone
            parts = []
        parts.insert(int(rng.integers(len(parts) + 1)), first)
        if rng.random() < 0.4:
            parts.insert(int(rng.integers(len(parts) + 1)), _style_sentence(rng, style))
        if rng.random() < 0.35:
            parts.append(_pick(rng, EXTRA_SENTENCES) + _pick(rng, EMOJI))
    text = "，".join(parts) if len(parts) < 3 else "。".join(parts) + "。"
    if rng.random() < 0.95 and not re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]\W*$", text):
        text += _pick(rng, GENERIC_EMOJI)
    return _with_tail(text, date_tail)


def non_outfit_caption(rng: np.random.Generator, kind: str, date_tail: str | None) -> str:
    """A caption for a scenery, food or face post."""
    return _with_tail(_pick(rng, NON_OUTFIT_TEXT[kind]["caption"]).format(e=_pick(rng, EMOJI)), date_tail)


def _with_tail(text: str, date_tail: str | None) -> str:
    return f"{text} - 小红书,,{date_tail},," if date_tail else text


def style_tags(rng: np.random.Generator, style: str | None, kind: str = "outfit", own: str = "some") -> str:
    """2-6 hashtags: the style's own, generic outfit ones and sometimes a noise tag.

    Args:
        rng: The post's generator.
        style: The outfit's style, or None for a non-outfit post (`kind`'s own tags, no generic ones).
        kind: The failure mode of a non-outfit post (scenery, food, face).
        own: For an outfit: 'some' (2-3 tags of the style), 'one' (a single one among more generic
            tags) or 'none' (generic tags only).
    """
    if style is None:
        pool = NON_OUTFIT_TEXT[kind]["tags"]
        chosen = list(rng.choice(pool, size=int(rng.integers(1, 4)), replace=False))
    else:
        pool = STYLE_WORDS[style]["tags"]
        n_own = {"some": int(rng.integers(2, 4)), "one": 1, "none": 0}[own]
        n_generic = int(rng.integers(1, 3)) if own == "some" else int(rng.integers(2, 5))
        chosen = list(rng.choice(pool, size=n_own, replace=False)) if n_own else []
        chosen += list(rng.choice(GENERIC_TAGS, size=n_generic, replace=False))
        if own != "some":
            chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    if rng.random() < 0.3:
        chosen.insert(0, _pick(rng, NOISE_TAGS))
    return " ".join(dict.fromkeys(str(t) for t in chosen))  # ordered de-duplication


def long_caption(rng: np.random.Generator, min_chars: int = 300, max_chars: int = 700) -> str:
    """Rambling daily-life chatter of `min_chars` to about `max_chars` characters, unrelated to outfits."""
    target = int(rng.integers(min_chars, max_chars))
    parts: list[str] = []
    while sum(len(p) for p in parts) < target:
        parts.append(f"{_pick(rng, _WHEN)}{_pick(rng, _WHAT)}，{_pick(rng, _THOUGHT)}。")
        if rng.random() < 0.15:
            parts.append(_pick(rng, EMOJI))
    return "".join(parts)
