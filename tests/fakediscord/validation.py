"""What Discord's documentation says Discord refuses, enforced by the fake (the test oracle).

Message bodies (create and edit, bot, webhook and interaction alike): embed parts on their own
and in total, colour range, ISO-8601 timestamps, ``attachment://`` names that match a file,
``allowed_mentions`` structure, and message components (action rows, buttons, their custom ids,
labels, styles and URLs). Application commands: name pattern, description length, option count,
required options before optional ones, choices, and the 4,000-character total. Each refusal is
Discord's ``50035 Invalid Form Body`` with the path of the offending part, so a test fails where
Discord would.

Sources: the Developer Portal's "Message Resource" (embed limits, allowed mentions), "Message
Components" (action rows and buttons) and "Application Commands" (naming, options, choices).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

#: Embed parts on their own (Embed Limits), and all embeds of a message together.
EMBED_PART_LIMITS = {"title": 256, "description": 4096}
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
MAX_COLOUR = 0xFFFFFF
#: Allowed mentions
MENTION_TYPES = {"roles", "users", "everyone"}
MAX_MENTION_IDS = 100
#: Message components (legacy action rows with buttons and select menus)
MAX_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
BUTTON_URL = 512
BUTTON_STYLES = {1, 2, 3, 4, 5, 6}
LINK, PREMIUM = 5, 6
ACTION_ROW, BUTTON = 1, 2
SELECTS = {3, 5, 6, 7, 8}
#: Application commands
COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)
DESCRIPTION = (1, 100)
MAX_OPTIONS = 25
MAX_CHOICES = 25
CHOICE_NAME = (1, 100)
CHOICE_STRING_VALUE = 100
COMMAND_TOTAL = 4000
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


class Invalid(Exception):
    """One refusal: ``path`` (``embeds.0.footer.text``), Discord's error ``code`` and message."""

    def __init__(self, path: str, code: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.code = code
        self.message = message


def _len(x: Any) -> int:
    return len(x) if isinstance(x, str) else 0


def validate_embed_extras(embeds: list[dict[str, Any]], file_names: set[str] | None) -> None:
    """What the fake's base check leaves out: footer and author on their own, colour,
    timestamp, and ``attachment://`` references (``file_names`` None: not checked, an edit
    that keeps its attachments)."""
    for i, embed in enumerate(embeds):
        footer = embed.get("footer")
        if isinstance(footer, dict):
            text = footer.get("text")
            if not isinstance(text, str) or not text:
                raise Invalid(f"embeds.{i}.footer.text", "BASE_TYPE_REQUIRED", "This field is required")
            if len(text) > FOOTER_TEXT:
                raise Invalid(
                    f"embeds.{i}.footer.text",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {FOOTER_TEXT} or fewer in length.",
                )
        author = embed.get("author")
        if isinstance(author, dict):
            name = author.get("name")
            if not isinstance(name, str) or not name:
                raise Invalid(f"embeds.{i}.author.name", "BASE_TYPE_REQUIRED", "This field is required")
            if len(name) > AUTHOR_NAME:
                raise Invalid(
                    f"embeds.{i}.author.name",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {AUTHOR_NAME} or fewer in length.",
                )
        colour = embed.get("color")
        if colour is not None and (
            isinstance(colour, bool) or not isinstance(colour, int) or not 0 <= colour <= MAX_COLOUR
        ):
            raise Invalid(
                f"embeds.{i}.color", "NUMBER_TYPE_MAX", f"int value should be <= {MAX_COLOUR} and >= 0."
            )
        stamp = embed.get("timestamp")
        if stamp is not None:
            try:
                datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            except ValueError:
                raise Invalid(
                    f"embeds.{i}.timestamp",
                    "DATE_TYPE_PARSE",
                    "Could not parse timestamp. Should be ISO8601.",
                ) from None
        if file_names is not None:
            for key in ("image", "thumbnail"):
                media = embed.get(key)
                url = str(media.get("url") or "") if isinstance(media, dict) else ""
                if url.startswith("attachment://") and url[len("attachment://") :] not in file_names:
                    raise Invalid(
                        f"embeds.{i}.{key}.url",
                        "URL_TYPE_INVALID_SCHEME",
                        f"no attachment named {url[len('attachment://') :]!r} in this message",
                    )


def validate_allowed_mentions(allowed: Any) -> None:
    if allowed is None:
        return
    if not isinstance(allowed, dict):
        raise Invalid("allowed_mentions", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    parse = allowed.get("parse") or []
    if not isinstance(parse, list) or any(p not in MENTION_TYPES for p in parse):
        raise Invalid(
            "allowed_mentions.parse", "ENUM_TYPE_COERCE", f"Value must be one of {sorted(MENTION_TYPES)}."
        )
    for kind in ("roles", "users"):
        ids = allowed.get(kind)
        if ids is None:
            continue
        if not isinstance(ids, list) or not all(str(x).isdigit() for x in ids):
            raise Invalid(f"allowed_mentions.{kind}", "LIST_TYPE_CONVERT", "Only snowflakes may be listed.")
        if len(ids) > MAX_MENTION_IDS:
            raise Invalid(
                f"allowed_mentions.{kind}",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_MENTION_IDS} or fewer in length.",
            )
        if kind in parse and ids:
            raise Invalid(
                "allowed_mentions",
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.',
            )


def validate_components(components: Any) -> None:
    if components is None:
        return
    if not isinstance(components, list):
        raise Invalid("components", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(components) > MAX_ROWS:
        raise Invalid("components", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    seen: set[str] = set()
    for r, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            raise Invalid(
                f"components.{r}.type", "COMPONENT_LAYOUT_INVALID", "top-level components must be action rows"
            )
        children = row.get("components") or []
        if not children:
            raise Invalid(
                f"components.{r}.components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length."
            )
        kinds = {c.get("type") for c in children if isinstance(c, dict)}
        if kinds & SELECTS and len(children) > 1:
            raise Invalid(
                f"components.{r}.components",
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "a select menu fills its row alone",
            )
        if len(children) > MAX_BUTTONS_PER_ROW:
            raise Invalid(
                f"components.{r}.components",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_BUTTONS_PER_ROW} or fewer in length.",
            )
        for c, comp in enumerate(children):
            where = f"components.{r}.components.{c}"
            if not isinstance(comp, dict):
                raise Invalid(where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            if comp.get("type") == ACTION_ROW:
                raise Invalid(
                    f"{where}.type", "COMPONENT_LAYOUT_INVALID", "an action row cannot hold an action row"
                )
            custom_id = comp.get("custom_id")
            if comp.get("type") == BUTTON:
                style = comp.get("style")
                if style not in BUTTON_STYLES:
                    raise Invalid(
                        f"{where}.style", "ENUM_TYPE_COERCE", f"Value must be one of {sorted(BUTTON_STYLES)}."
                    )
                label = comp.get("label")
                if label is not None and len(str(label)) > BUTTON_LABEL:
                    raise Invalid(
                        f"{where}.label",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {BUTTON_LABEL} or fewer in length.",
                    )
                if style == LINK:
                    url = comp.get("url")
                    if not url or custom_id is not None:
                        raise Invalid(
                            f"{where}.url",
                            "BUTTON_COMPONENT_URL_REQUIRED",
                            "a link button has a url and no custom_id",
                        )
                    if len(str(url)) > BUTTON_URL:
                        raise Invalid(
                            f"{where}.url",
                            "BASE_TYPE_MAX_LENGTH",
                            f"Must be {BUTTON_URL} or fewer in length.",
                        )
                    continue
                if style == PREMIUM:
                    continue
                if comp.get("url") is not None:
                    raise Invalid(
                        f"{where}.url", "BUTTON_COMPONENT_INVALID_URL", "only link buttons have a url"
                    )
                if not label and not comp.get("emoji"):
                    raise Invalid(
                        f"{where}.label", "BUTTON_COMPONENT_LABEL_OR_EMOJI", "a button needs a label or emoji"
                    )
            if comp.get("type") in SELECTS or comp.get("type") == BUTTON:
                if not isinstance(custom_id, str) or not custom_id:
                    raise Invalid(f"{where}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
                if len(custom_id) > CUSTOM_ID:
                    raise Invalid(
                        f"{where}.custom_id",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {CUSTOM_ID} or fewer in length.",
                    )
                if custom_id in seen:
                    raise Invalid(
                        f"{where}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)


def validate_message_body(payload: dict[str, Any], file_names: set[str] | None) -> None:
    validate_embed_extras([e for e in payload.get("embeds") or [] if isinstance(e, dict)], file_names)
    validate_allowed_mentions(payload.get("allowed_mentions"))
    validate_components(payload.get("components"))


# -- application commands ------------------------------------------------------------------


def _command_chars(obj: dict[str, Any]) -> int:
    n = _len(obj.get("name")) + _len(obj.get("description"))
    for ch in obj.get("choices") or []:
        n += _len(ch.get("name")) + len(str(ch.get("value", "")))
    for opt in obj.get("options") or []:
        n += _command_chars(opt)
    return n


def _validate_name(path: str, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str) or not name:
        raise Invalid(f"{path}.name", "BASE_TYPE_REQUIRED", "This field is required")
    if not chat_input:
        if len(name) > 32:
            raise Invalid(f"{path}.name", "BASE_TYPE_MAX_LENGTH", "Must be 32 or fewer in length.")
        return
    if not COMMAND_NAME_RE.match(name) or name != name.lower():
        raise Invalid(
            f"{path}.name",
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid (1-32 lowercase letters, digits, - _ ')",
        )


def _validate_description(path: str, text: Any) -> None:
    lo, hi = DESCRIPTION
    if not isinstance(text, str) or not lo <= len(text) <= hi:
        raise Invalid(
            f"{path}.description", "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length."
        )


def _validate_options(path: str, options: Any) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        raise Invalid(f"{path}.options", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(options) > MAX_OPTIONS:
        raise Invalid(f"{path}.options", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    optional_seen = False
    names: set[str] = set()
    for i, opt in enumerate(options):
        where = f"{path}.options.{i}"
        if not isinstance(opt, dict):
            raise Invalid(where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        _validate_name(where, opt.get("name"), chat_input=True)
        _validate_description(where, opt.get("description"))
        if opt["name"] in names:
            raise Invalid(
                f"{where}.name",
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(opt["name"])
        kind = opt.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _validate_options(where, opt.get("options"))
            continue
        if opt.get("required"):
            if optional_seen:
                raise Invalid(
                    where,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = opt.get("choices")
        if choices is not None:
            if not isinstance(choices, list) or len(choices) > MAX_CHOICES:
                raise Invalid(
                    f"{where}.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length."
                )
            if choices and opt.get("autocomplete"):
                raise Invalid(
                    f"{where}.autocomplete",
                    "AUTOCOMPLETE_AND_CHOICES",
                    "autocomplete and choices are exclusive",
                )
            for j, ch in enumerate(choices):
                lo, hi = CHOICE_NAME
                if not isinstance(ch, dict) or not lo <= _len(ch.get("name")) <= hi:
                    raise Invalid(
                        f"{where}.choices.{j}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        f"Must be between {lo} and {hi} in length.",
                    )
                value = ch.get("value")
                if isinstance(value, str) and not 1 <= len(value) <= CHOICE_STRING_VALUE:
                    raise Invalid(
                        f"{where}.choices.{j}.value",
                        "BASE_TYPE_BAD_LENGTH",
                        f"Must be between 1 and {CHOICE_STRING_VALUE} in length.",
                    )


def validate_command(index: int, cmd: dict[str, Any]) -> None:
    kind = int(cmd.get("type", 1) or 1)
    path = str(index)
    _validate_name(path, cmd.get("name"), chat_input=kind == 1)
    if kind == 1:
        _validate_description(path, cmd.get("description"))
        _validate_options(path, cmd.get("options"))
        if _command_chars(cmd) > COMMAND_TOTAL:
            raise Invalid(
                path, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({COMMAND_TOTAL})"
            )
