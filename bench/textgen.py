"""Deterministic Chinese text for the seed: titles, bodies, names and tags.

Not meaningful prose, but the byte shape of real content matters for the benchmark: three bytes
per character in UTF-8 (and in the JSON the API sends, which keeps non-ASCII as is), punctuation,
and sentence lengths like an article's.
"""

from __future__ import annotations

import random

# Common words; random sentences of them have the character mix of ordinary Chinese writing.
_WORDS = (
    "我们 今天 一起 学习 如何 使用 这个 平台 创作者 订阅 内容 更新 读者 喜欢 分享 经验 技术 "
    "生活 旅行 美食 摄影 音乐 电影 阅读 写作 设计 编程 数据 系统 服务 性能 缓存 数据库 "
    "城市 春天 夏天 秋天 冬天 早上 晚上 朋友 家人 工作 周末 计划 目标 方法 问题 答案 "
    "故事 历史 文化 艺术 科学 自然 健康 运动 咖啡 茶 山 海 风景 记录 思考 感受 变化 "
    "发现 重要 简单 复杂 有趣 安静 热闹 快乐 认真 自由 未来 过去 现在 时间 空间 世界"
)
WORDS = tuple(_WORDS.split())
PUNCTUATION = "，，，、；"
_TAG_NAMES = (
    "科技 生活 旅行 美食 摄影 音乐 电影 读书 写作 设计 编程 数据 健康 运动 咖啡 历史 文化 "
    "艺术 科学 自然 城市 教育 职场 理财 游戏 动漫 宠物 家居 时尚 汽车"
)
TAG_NAMES = tuple(_TAG_NAMES.split())
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def sentence(rng: random.Random, words: int) -> str:
    parts: list[str] = []
    for i in range(words):
        parts.append(rng.choice(WORDS))
        if i and i % 5 == 0 and i < words - 1:
            parts.append(rng.choice(PUNCTUATION))
    return "".join(parts) + "。"


def title(rng: random.Random) -> str:
    return sentence(rng, rng.randint(4, 8))[:-1]


def body(rng: random.Random, chars: int) -> str:
    """Paragraphs of sentences, about ``chars`` characters."""
    out: list[str] = []
    size = 0
    while size < chars:
        paragraph = "".join(sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(2, 4)))
        out.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(out)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def tag_names(count: int) -> list[str]:
    """``count`` distinct tag names: the base words, then numbered variants (``科技2``)."""
    names = list(TAG_NAMES)
    n = 2
    while len(names) < count:
        names.extend(f"{base}{n}" for base in TAG_NAMES)
        n += 1
    return names[:count]
