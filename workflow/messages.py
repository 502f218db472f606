"""Chinese and English texts for field errors and error codes without a reason file entry."""
from __future__ import annotations

FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("必填项", "is required"),
    "not_string": ("应为文本", "must be a string"),
    "too_long": ("不能超过{max}个字符", "must be at most {max} characters"),
    "not_integer": ("应为整数", "must be an integer"),
    "below_min": ("不能小于{min}", "must be at least {min}"),
    "above_max": ("不能大于{max}", "must be at most {max}"),
    "not_money": ("应为金额（元）", "must be an amount in yuan"),
    "money_precision": ("金额最多保留两位小数", "must have at most two decimal places"),
    "not_date": ("应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "not_boolean": ("应为是或否", "must be true or false"),
    "not_in_choices": ("应为以下之一：{choices}", "must be one of: {choices}"),
    "not_list": ("应为列表", "must be a list"),
    "too_many": ("最多{max}项", "must have at most {max} items"),
    "not_object": ("应为对象", "must be an object"),
    "duplicate": ("与前面的项重复", "repeats an earlier item"),
    "bad_key": ("键名无效", "is not a valid key"),
    "unknown_field": ("未知字段", "is not a known field"),
    "malformed_json": ("不是有效的 JSON", "is not valid JSON"),
    "too_deep": ("嵌套层数不能超过{max}层", "must not nest deeper than {max} levels"),
    "unknown_workflow": ("没有这个流程", "is not a known workflow"),
    "unknown_role": ("没有这个角色", "is not a known role"),
    "unknown_org": ("没有这个组织", "is not a known organisation"),
    "taken": ("已被使用", "is already taken"),
    "invalid_credit_code": ("统一社会信用代码校验位错误", "is not a valid unified social credit code"),
    "weak_password": ("密码至少{min}个字符", "must be at least {min} characters"),
    "common_password": ("这是常见密码，很容易被猜中，请换一个", "is a common password, easily guessed; choose another"),
    "password_has_username": ("密码不能包含用户名", "must not contain the username"),
    "mixed_scripts": ("用户名不能混用不同文字的字母（如拉丁字母和西里尔字母）",
                      "must not mix letters of different scripts (such as Latin and Cyrillic)"),
    "bad_characters": ("含有不能保存的字符（如控制字符）", "contains characters that cannot be stored"),
    "bad_code": ("只能包含字母、数字、“-”、“_”和“.”", "may contain only letters, digits, '-', '_' and '.'"),
}

ERROR_MESSAGES: dict[str, tuple[str, str]] = {
    "invalid_input": ("提交的数据有误", "The input is not valid"),
    "unknown_trigger": ("此流程没有这个操作", "This workflow has no such step"),
    "unauthenticated": ("未登录或令牌无效", "Not authenticated"),
    "forbidden": ("无权执行此操作", "You may not do this"),
    "not_competent": ("您所在组织无权办理此步骤", "Your organisation is not competent for this step"),
    "four_eyes": ("四眼原则不允许您作出此决定", "The four-eyes rule forbids you to decide this"),
    "assigned_to_other": ("此事项已由他人认领办理", "Someone else has claimed this decision"),
    "not_found": ("未找到，或不在您的管辖范围内", "Not found"),
    "invalid_state": ("当前状态下不能执行此操作", "Not possible in the current state"),
    "stale_version": ("案件已被他人更新，请刷新后重试",
                      "The case has changed since you loaded it; reload and try again"),
    "guard_failed": ("不符合办理条件", "A rule of the procedure is not met"),
    "payload_too_large": ("提交的内容超过1 MiB", "The request body exceeds 1 MiB"),
    "method_not_allowed": ("不支持此请求方法", "Method not allowed"),
    "rate_limited": ("尝试次数过多，请稍后再试", "Too many attempts; try again later"),
    "too_many_cases": ("一次最多批量办理100件", "A bulk decision takes at most 100 cases"),
    "too_many_tokens": ("该用户已有10个有效令牌，请先吊销不再使用的令牌",
                        "The user already holds 10 live tokens; revoke one that is no longer used first"),
}


def field_message(code: str, params: dict, lang: str) -> str:
    zh, en = FIELD_MESSAGES.get(code, (code, code))
    template = en if lang.startswith("en") else zh
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def error_message(code: str, lang: str) -> str:
    zh, en = ERROR_MESSAGES.get(code, (code, code))
    return en if lang.startswith("en") else zh
