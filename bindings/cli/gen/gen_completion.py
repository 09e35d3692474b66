#!/usr/bin/env python3
"""Write the bash completion of the `churn` command from its --help texts (build time).

    gen_completion.py CHURN MODELS_DIR OUTPUT

Completes the subcommands after `churn`, the model families after `churn fit`, the
options of each subcommand (of `churn fit FAMILY` per family; after `churn predict`
the options of every family's `churn predict MODEL --help`, since the family is in
the model file) when the word starts with '-', and file names otherwise. Needs only
bash (not the bash-completion package).
"""
import os
import re
import sys

sys.dont_write_bytecode = True   # helptext is imported from the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helptext  # noqa: E402

FUNCTION = r'''
_churn()
{
    local cur=${COMP_WORDS[COMP_CWORD]} key opts
    COMPREPLY=()
    if (( COMP_CWORD == 1 )); then
        COMPREPLY=( $(compgen -W "$_churn_commands --help --version" -- "$cur") )
        return 0
    fi
    key=${COMP_WORDS[1]}
    if [[ $key == fit ]]; then
        if (( COMP_CWORD == 2 )); then
            COMPREPLY=( $(compgen -W "$_churn_families --help" -- "$cur") )
            return 0
        fi
        key=fit_${COMP_WORDS[2]}
    fi
    if [[ $cur == -* ]]; then
        opts=_churn_opts_${key//[^A-Za-z0-9_]/_}
        COMPREPLY=( $(compgen -W "${!opts-}" -- "$cur") )
        return 0
    fi
    # positional arguments and option values: file names
    compopt -o filenames 2>/dev/null
    COMPREPLY=( $(compgen -f -- "$cur") )
    return 0
}
complete -F _churn churn
'''


def ident(key):
    return "_churn_opts_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def names(items, pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]*$"):
    """A single-quoted bash word list; anything but plain names is an error."""
    items = list(items)
    for n in items:
        if not re.match(pattern, n):
            raise ValueError(f"unexpected name {n!r} in a help text")
    return "'" + " ".join(items) + "'"


def words(options):
    return names(options, r"^-[-A-Za-z0-9]+$")


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    churn, models, output = argv[1:]
    helps = helptext.Help(churn, models)
    lines = ["# bash completion for churn(1): subcommands, model families after 'churn fit',",
             "# options, file names. Generated from the --help texts of churn "
             f"{helps.version} by",
             "# bindings/cli/gen/gen_completion.py; do not edit.",
             "",
             "_churn_commands=" + names(n for n, _ in helps.commands),
             "_churn_families=" + names(helps.families)]
    for name, _ in helps.commands:
        if name == "fit":
            for fams, text in helps.fit:
                opts = helptext.options_of(text)[0]
                opts = words(opts + ["--help"] * ("--help" not in opts))
                lines += [f"{ident('fit_' + f)}={opts}" for f in fams]
        elif name == "predict":
            union = []
            for _, text in helps.predict:
                union += [o for o in helptext.options_of(text)[0] if o not in union]
            union += [o for o in helptext.options_of(helps.sub[name])[0] if o not in union]
            lines.append(f"{ident(name)}={words(union + ['--help'] * ('--help' not in union))}")
        else:
            opts = helptext.options_of(helps.sub[name])[0]
            lines.append(f"{ident(name)}={words(opts + ['--help'] * ('--help' not in opts))}")
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n" + FUNCTION)


if __name__ == "__main__":
    main(sys.argv)
