"""Chinese captions and hashtags for the synthetic sample, built from per-style vocabularies.

Captions read like Xiaohongshu posts: style, colour, material, occasion and feeling words in a few
sentence templates, emoji, and sometimes the ' - 小红书,,MM-DD,,' tail a scraper leaves. Every
function takes an explicit `numpy.random.Generator`.
"""

from __future__ import annotations

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
GENERIC_TAGS = ("#每日穿搭", "#ootd", "#穿搭分享", "#今天穿什么", "#日常穿搭", "#小个子穿搭", "#显瘦穿搭",
                "#穿搭灵感", "#一周穿搭", "#氛围感穿搭")
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
# Daily-life chatter for long captions that have nothing to do with the outfit.
_WHEN = ("今天早上", "昨天晚上", "上周末", "下班路上", "中午休息的时候", "刚才", "前几天", "放假第一天",
         "凌晨两点", "周一一大早")
_WHAT = ("去公司开了一整天的会", "在地铁上被挤得喘不过气", "和闺蜜去吃了火锅", "带着猫去打了疫苗",
         "一个人在家追了八集剧", "跟老板汇报了季度方案", "去银行办了半天业务", "坐高铁回了一趟老家",
         "在咖啡店写了一下午报告", "帮妈妈整理了阳台上的花", "去驾校练了科目二", "排队两个小时买奶茶",
         "搬家收拾到腰都直不起来", "在机场等了三个小时", "陪弟弟写作业写到崩溃")
_THOUGHT = ("感觉人生真的好难", "突然觉得生活还挺美好的", "真的不知道该说什么", "心情复杂得很",
            "决定以后要早点睡觉", "想想还是算了", "回来的路上下起了大雨", "手机还差点没电",
            "第二天还要早起", "说好的减肥又失败了", "钱包又瘦了一圈", "打算下个月去旅行放松一下")


def style_caption(rng: np.random.Generator, style: str, date_tail: str | None) -> str:
    """One outfit caption for `style`; `date_tail` ('MM-DD') appends the scraper's platform tail."""
    words = STYLE_WORDS[style]
    fill = {
        "name": _pick(rng, words["name"]), "colour": _pick(rng, COLOURS), "material": _pick(rng, words["material"]),
        "occasion": _pick(rng, words["occasion"]), "feeling": _pick(rng, FEELINGS), "feeling2": _pick(rng, FEELINGS),
        "e": _pick(rng, EMOJI + words["emoji"]), "e2": _pick(rng, EMOJI + words["emoji"]),
        "n": str(int(rng.integers(1, 8))),
    }
    text = _pick(rng, TEMPLATES).format(**fill)
    if rng.random() < 0.35:
        text += "，" + _pick(rng, EXTRA_SENTENCES) + _pick(rng, EMOJI)
    return _with_tail(text, date_tail)


def non_outfit_caption(rng: np.random.Generator, kind: str, date_tail: str | None) -> str:
    """A caption for a scenery, food or face post."""
    return _with_tail(_pick(rng, NON_OUTFIT_TEXT[kind]["caption"]).format(e=_pick(rng, EMOJI)), date_tail)


def _with_tail(text: str, date_tail: str | None) -> str:
    return f"{text} - 小红书,,{date_tail},," if date_tail else text


def style_tags(rng: np.random.Generator, style: str | None, kind: str = "outfit") -> str:
    """2-6 hashtags: the style's own, generic outfit ones and sometimes a noise tag."""
    own = STYLE_WORDS[style]["tags"] if style else NON_OUTFIT_TEXT[kind]["tags"]
    n_own = int(rng.integers(1, 4))
    chosen = list(rng.choice(own, size=min(n_own, len(own)), replace=False))
    if style:
        chosen += list(rng.choice(GENERIC_TAGS, size=int(rng.integers(1, 3)), replace=False))
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
