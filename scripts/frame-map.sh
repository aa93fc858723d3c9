#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Draw a torus's frame map as a PNG: one cell per frame, 64 frames a row,
# frame numbers growing left to right and top to bottom, coloured by what
# the frame holds.  The input is the text of
# /sys/kernel/debug/torusmm/torus<N>/map (see debugfs.c), either a file of
# it or a VM console log in which it stands between the lines
# TORUSMM-MAP-BEGIN and TORUSMM-MAP-END (clients/torusmm-fragment prints
# it so).  Needs gnuplot (Debian: gnuplot-nox) on the host.
#
# usage: frame-map.sh [-t TITLE] INPUT OUTPUT.png
#
# To capture a fragmented torus in the debug VM and draw it:
#   scripts/vm-exec.sh -- /clients/torusmm-fragment 256 \
#       /sys/kernel/debug/torusmm/torus0/map
#   scripts/frame-map.sh build/logs/<the log it names> map.png
set -euo pipefail

title="torus 0 frame map"
while getopts "t:" opt; do
	case $opt in
	t) title=$OPTARG ;;
	*) echo "usage: $0 [-t TITLE] INPUT OUTPUT.png" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "usage: $0 [-t TITLE] INPUT OUTPUT.png" >&2; exit 2; }
input=$1 output=$2
command -v gnuplot >/dev/null ||
	{ echo "frame-map: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The map's lines: between the markers when there are any, else every line
# of the form "HEX chars".  The console may prefix lines with \r.
tr -d '\r' <"$input" | awk '
	/TORUSMM-MAP-BEGIN/ { inside = 1; marked = 1; n = 0; next }
	/TORUSMM-MAP-END/ { inside = 0; next }
	{ lines[++total] = $0; if (inside) mark[total] = 1 }
	END {
		for (i = 1; i <= total; i++)
			if ((!marked || mark[i]) && lines[i] ~ /^[0-9a-f]+ [.dstz]+$/)
				print lines[i]
	}' >"$work/map.txt"
[ -s "$work/map.txt" ] || { echo "frame-map: no map in $input" >&2; exit 1; }

# One "column row red green blue" line per frame of the torus (the
# zero-frame line is left out: it is not in the torus), coloured free,
# data, shared or table.  The counts of each go to the legend.
awk '
	function hex(s,    i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	BEGIN {
		rgb[0] = "238 238 238"; rgb[1] = "43 108 176"
		rgb[2] = "221 107 32"; rgb[3] = "47 133 90"
	}
	$2 == "z" { next }
	{
		if (row == "") first = hex($1)
		r = int((hex($1) - first) / 64)
		n = length($2)
		for (i = 1; i <= n; i++) {
			c = substr($2, i, 1)
			code = c == "." ? 0 : c == "d" ? 1 : c == "s" ? 2 : 3
			count[code]++
			printf "%d %d %s\n", i - 1, r, rgb[code]
		}
		row = r
	}
	END {
		printf "%d %d %d %d %d\n", row + 1, count[0], count[1], \
		       count[2], count[3] > "/dev/stderr"
	}' "$work/map.txt" >"$work/cells.dat" 2>"$work/counts"
read -r rows free data shared table <"$work/counts"

gnuplot <<EOF
set terminal pngcairo size 720,$((rows * 8 + 150)) font "sans,10"
set output "$output"
set title "$title: $((free + data + shared + table)) frames, 64 per row"
set xrange [-0.5:63.5]
set yrange [$rows - 0.5:-0.5]
set xlabel "frame within the row"
set ylabel "row (64 frames)"
set xtics 8
set ytics 8
set key outside bottom center horizontal
plot "$work/cells.dat" using 1:2:3:4:5 with rgbimage notitle, \
     NaN with boxes fc rgb "#eeeeee" fs solid title "free ($free)", \
     NaN with boxes fc rgb "#2b6cb0" fs solid title "data ($data)", \
     NaN with boxes fc rgb "#dd6b20" fs solid title "shared, refcount > 1 ($shared)", \
     NaN with boxes fc rgb "#2f855a" fs solid title "page table ($table)"
EOF
echo "frame-map: $output: $rows rows; $free free, $data data, $shared shared, $table table frames"
