# SPDX-License-Identifier: GPL-2.0
#
# The plots of `make bench`, from the .dat files scripts/bench.sh cuts out
# of build/bench/bench.csv:
#   gnuplot -e "dir='build/bench'; reps='5'; copy_mib='16'" bench-plot.gp
# Columns of a series: size_mib, torusmm median min max, native median min max.

set terminal pngcairo size 800,480 font ",10" noenhanced
set grid
set key top left
set logscale x 2
set xlabel "size (MiB)"
set ylabel "ns per page (median, bars: min-max)"
set format x "%g"
set xrange [0.7:750]
set yrange [0:*]

set output dir."/populate.png"
set title "populate: TORUSMM_MAP_POPULATE vs mmap(MAP_POPULATE), ".reps." reps"
plot dir."/populate.dat" using 1:2:3:4 with yerrorlines title "torusmm", \
     "" using 1:5:6:7 with yerrorlines title "native"

set output dir."/munmap.png"
set title "munmap of populated memory: TORUSMM_MUNMAP vs munmap(), ".reps." reps"
plot dir."/munmap.dat" using 1:2:3:4 with yerrorlines title "torusmm", \
     "" using 1:5:6:7 with yerrorlines title "native"

set output dir."/fault.png"
set title "first touch of every page, ".reps." reps"
set xrange [0.7:90]
set yrange [*:*]
set logscale y
plot dir."/fault-write.dat" using 1:2:3:4 with yerrorlines title "torusmm: WRITE ioctl of 1 byte", \
     dir."/fault-shadow.dat" using 1:2:3:4 with yerrorlines title "torusmm: store through the shadow", \
     dir."/fault-write.dat" using 1:5:6:7 with yerrorlines title "native: store"
unset logscale

set output dir."/bandwidth.png"
set title "bulk copies of ".copy_mib." MiB in 1 MiB pieces (median of ".reps.")"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile separator "\t"
set xlabel ""
set ylabel "MiB/s"
set xtics rotate by -15
set key top right
set xrange [-0.6:*]
plot dir."/copy.dat" using 2:xtic(1) title "torusmm", "" using 3 title "native"

set output dir."/ratios.png"
set terminal pngcairo size 1000,720 font ",9" noenhanced
set title "torusmm time / native time, median of ".reps." (log scale; red: torusmm slower by over 10%, green: faster, grey: within 10%)"
set logscale y 10
set ylabel "ratio"
set xtics rotate by 90 right font ",8"
set bmargin 18
set rmargin 4
unset key
set yrange [0.01:*]
# Red: torusmm more than 10% slower than native; green: more than 10%
# faster; grey: within 10%, which TCG's noise can blur.
set boxwidth 0.6
set xrange [-0.7:*]
plot dir."/ratios.dat" using 0:2:($2 > 1.1 ? 0xcc3333 : $2 < 0.9 ? 0x339933 : 0x999999):xtic(1) \
	with boxes lc rgb variable, 1 with lines lt -1 dt 2
