# SPDX-License-Identifier: Apache-2.0
# stats.sh - medians and ratios over per-rep results, shared by the
# make bench parts. Results live in associative arrays keyed "ROW,REP";
# REPS is the number of reps. "NA" and empty values are ignored.

median() {  # values... -> median, or NA when none is a number
	printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g |
		awk '{a[NR]=$1} END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'
}

med() {  # ARRAYNAME row -> median over the reps of that row
	local -n arr=$1
	local r v=()
	for r in $(seq "$REPS"); do v+=("${arr[$2,$r]-NA}"); done
	median "${v[@]}"
}

reps() {  # ARRAYNAME row -> "a/b/c", one value per rep
	local -n arr=$1
	local r s=
	for r in $(seq "$REPS"); do s+="${s:+/}${arr[$2,$r]-NA}"; done
	echo "$s"
}

ratio() {  # a b -> a/b with 2 decimals, NA when either is missing or b is 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || a == "" || b == "" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'
}

pctl() {  # P values... -> the P-th percentile (nearest rank), NA when none is a number
	local p=$1; shift
	printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g |
		awk -v p="$p" '{a[NR]=$1} END { if (NR == 0) { print "NA"; exit }
			r = int((p * NR + 99) / 100); if (r < 1) r = 1; if (r > NR) r = NR; print a[r] }'
}
