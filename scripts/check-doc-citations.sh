#!/bin/sh
# Every section number that a Go comment cites after "docs/protocol.md"
# (including lists like "4.2, 4.3" and citations broken across comment
# lines) must be a heading "## N." or "### N.M" in docs/protocol.md, so a
# reader of the code can follow it. make lint runs it; -q prints only the
# missing ones.
quiet=
if [ "$1" = -q ]; then quiet=1; shift; fi
root=${1:-.}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
doc=$root/docs/protocol.md
find "$root" -name '*.go' -print0 | xargs -0 perl -0777 -ne '
  s{\n[ \t]*//[ \t]*}{ }g;                      # join comment lines
  while (/docs\/protocol\.md(?:,)?\s+(?:section\s+)?((?:\d+(?:\.\d+)?)(?:\s*(?:,|and)\s*\d+(?:\.\d+)?)*)/g) {
    print "$_\n" for split /\s*(?:,|and)\s*/, $1;
  }' | sort -t. -k1,1n -k2,2n | uniq -c > "$tmp"
fail=0
while read -r n sec; do
  case $sec in
    *.*) pat="^### $sec " ;;
    *)   pat="^## $sec. " ;;
  esac
  h=$(grep -m1 -E "$(printf '%s' "$pat" | sed 's/\./\\./g')" "$doc")
  if [ -n "$h" ]; then [ -n "$quiet" ] || printf 'ok   %3d x %-4s -> %s\n' "$n" "$sec" "$h"
  else printf 'MISSING %3d x %s\n' "$n" "$sec"; fail=1; fi
done < "$tmp"
[ -n "$quiet" ] || echo "sections cited: $(wc -l < "$tmp"), citations: $(awk '{s+=$1} END {print s}' "$tmp")"
exit $fail
