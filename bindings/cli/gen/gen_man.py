#!/usr/bin/env python3
"""Write the man pages of the `churn` command from its --help texts (run at build time).

    gen_man.py CHURN MODELS_DIR OUTPUT...

CHURN is the built command; MODELS_DIR holds golden_v1_FAMILY.json model files, whose
`churn predict MODEL --help` texts give the per-family sections of churn-predict(1).
OUTPUT are the pages to write: churn.1 and churn-SUB.1 for every subcommand that
`churn --help` lists. A subcommand without its page in OUTPUT (or a page of no
subcommand) is an error naming the file to add to man_pages in bindings/cli/gen/meson.build,
so the installed pages always cover the command as built.

churn.1 lists the subcommands; churn-SUB.1 is `churn SUB --help`; churn-fit.1 and
churn-predict.1 add one section per group of families sharing one help text.
"""
import os
import re
import sys

sys.dont_write_bytecode = True   # helptext is imported from the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helptext  # noqa: E402

DESCRIPTION = "churn scores and customer lifetime value from purchase histories"
INTRO = ("Batch churn scoring and CLV for data pipelines: CSV in, CSV or JSON out. "
         "Data goes to standard output or \\fB\\-o\\fR \\fIFILE\\fR; errors go to "
         "standard error with a non\\-zero exit status. Each command is described in its "
         "own page, generated like this one from the command's \\fB\\-\\-help\\fR text.")


def esc(text):
    """Roff-escape one line of text: backslashes, minus signs, a leading dot or quote;
    long comma-separated lists (a,b,c) may break after their commas."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r",(?=\S)", ",\\:", text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def arg(text):
    """A quoted macro argument."""
    return '"' + esc(text).replace('"', '""') + '"'


def spec_roff(spec):
    """'-o, --output F' -> bold option names, italic value names."""
    out = []
    for tok in spec.split():
        tail = "," if tok.endswith(",") else ""
        tok = tok.rstrip(",")
        font = "B" if tok.startswith("-") else "I"
        out.append(f"\\f{font}{esc(tok)}\\fR{tail}")
    return " ".join(out)


def squeeze(text):
    return re.sub(r"\s{2,}", " ", text).strip()


def body_roff(blocks, heading_macro):
    """Roff lines of parsed help blocks; headings become heading_macro (.SH or .SS)."""
    out = []
    for b in blocks:
        if b.kind == "para":
            out += [".PP", esc(squeeze(b.content))]
        elif b.kind == "pre":
            out += [".PP", ".RS 2", ".nf"] + [esc(s) for s in b.content] + [".fi", ".RE"]
        elif b.kind == "heading":
            title = b.content
            m = re.match(r"^(.*?)\s*\((.*)\)$", title)
            if heading_macro == ".SH":
                title = (m.group(1) if m else title).upper()
            elif m:
                title = m.group(1)
            out.append(f"{heading_macro} {arg(title)}")
            if m:
                out += [".PP", esc(m.group(2)) + "."]
        elif b.kind == "options":
            for opt in b.content:
                out += [".TP", spec_roff(opt.spec), esc(squeeze(opt.desc))]
    return out


def synopsis_roff(usage):
    return [".nf"] + [esc(u.rstrip()) for u in usage] + [".fi"]


def page(name, summary, version, sections, see_also):
    """A whole page: .TH, NAME, then sections (lists of roff lines), SEE ALSO."""
    title = name.upper()
    lines = [f'.\\" Generated from \'{name.replace("-", " ", 1)} --help\' by '
             f"bindings/cli/gen/gen_man.py; do not edit.",
             f'.TH {arg(title)} 1 "" {arg("libchurn " + version)} "User Commands"',
             ".nh",   # no hyphenation: column and option names stay whole
             ".SH NAME", f"{esc(name)} \\- {esc(summary)}"]
    for sec in sections:
        lines += sec
    others = [p for p in see_also if p != name]
    lines += [".SH SEE ALSO"] + [f".BR {esc(p)} (1)" + ("," if k + 1 < len(others) else "")
                                 for k, p in enumerate(others)]
    return "\n".join(lines) + "\n"


def sub_page(helps, name, summary):
    """churn-NAME.1: the subcommand's help, plus family sections for fit and predict."""
    usage, rest = helptext.split_usage(helps.sub[name])
    synopsis = list(usage)
    groups = {"fit": helps.fit, "predict": helps.predict}.get(name, [])
    extra = []
    for fams, text in groups:
        g_usage, g_rest = helptext.split_usage(text)
        if name == "fit":
            synopsis += g_usage
            title = "churn fit " + ", ".join(fams)
        else:
            title = "churn predict with a " + ", ".join(fams) + " model"
        extra.append([f".SH {arg(title)}", ".PP"] + synopsis_roff(g_usage)
                     + body_roff(helptext.parse_body(g_rest), ".SS"))
    blocks = helptext.parse_body(rest)
    sections = [[".SH SYNOPSIS"] + synopsis_roff(synopsis)]
    first = next((k for k, b in enumerate(blocks) if b.kind == "heading"), len(blocks))
    sections.append([".SH DESCRIPTION"] + body_roff(blocks[:first], ".SH"))
    sections.append(body_roff(blocks[first:], ".SH"))
    return sections + extra


def top_page(helps):
    usage, rest = helptext.split_usage(helps.top)
    cmds = [".SH COMMANDS"]
    for name, summary in helps.commands:
        cmds += [".TP", f".BR churn\\-{esc(name)} (1)", esc(summary)]
    # the lines after the command list ("'churn <command> --help' ...", the version)
    after, seen = [], False
    for line in rest:
        if seen and line.strip() and not re.match(r"^  \S", line):
            after += [".PP", esc(line.strip())]
        elif line.strip() == "commands:":
            seen = True
    return [[".SH SYNOPSIS"] + synopsis_roff(usage + ["churn --version"]),
            [".SH DESCRIPTION", ".PP", INTRO] + after,
            cmds,
            [".SH EXIT STATUS", "0 success, 1 failure (the message is on standard error), "
             "2 usage error."]]


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    churn, models, outputs = argv[1], argv[2], argv[3:]
    helps = helptext.Help(churn, models)
    pages = {"churn": top_page(helps)}
    summaries = {"churn": DESCRIPTION}
    for name, summary in helps.commands:
        pages["churn-" + name] = sub_page(helps, name, summary)
        summaries["churn-" + name] = summary
    wanted = {os.path.basename(o)[:-len(".1")]: o for o in outputs if o.endswith(".1")}
    if set(wanted) != set(pages) or len(wanted) != len(outputs):
        missing = sorted(p + ".1" for p in set(pages) - set(wanted))
        extra = sorted(os.path.basename(o) for o in outputs
                       if os.path.basename(o)[:-len(".1")] not in pages)
        sys.exit("gen_man.py: man_pages in bindings/cli/gen/meson.build do not match the "
                 f"subcommands of 'churn --help': add {missing}, remove {extra}")
    for name, sections in pages.items():
        with open(wanted[name], "w", encoding="utf-8") as f:
            f.write(page(name, summaries[name], helps.version, sections, list(pages)))


if __name__ == "__main__":
    main(sys.argv)
