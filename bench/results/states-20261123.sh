#!/bin/bash
# One-off used for bench/README "sixth pass" (2026-11-23, pgrelay 423b138). Needs the cluster bench/compare leaves
# in $WORKDIR (primary, standbys, PgBouncer on 25436) and /tmp/prof/env.sh of that session to start pgrelay on
# 25435 (nohup setsid java -jar proxy/target/pgrelay.jar run --config $WORKDIR/pgrelay/pgrelay.toml). Ticks: 1/100 s.
# modes.sh ROUNDS SECS MODE: interleaved pgrelay/PgBouncer; per second: TPS and the pooler's user/sys ticks -> modes.csv
R=$1; S=$2; M=${3:-simple}; out=/tmp/prof/modes-$M.csv; : > $out
for r in $(seq $R); do
  for t in relay bouncer; do
    if [ $t = relay ]; then CONF=/tmp/pgrelay-compare-25432/pgrelay/pgrelay.toml JAR=/tmp/prof/head/pgrelay.jar JOPTS="$(cat /tmp/prof/head/jopts)" /tmp/prof/env.sh relay >/dev/null; port=25435; pid=$(pgrep -f "pgrelay.jar run --config /tmp/" | head -1)
    else port=25436; pid=$(pgrep -x pgbouncer | head -1); fi
    PGPASSWORD=app /usr/lib/postgresql/15/bin/pgbench -h 127.0.0.1 -p $port -U app -n -c 100 -j 2 -T 4 -S -M $M app >/dev/null 2>&1
    PGPASSWORD=app /usr/lib/postgresql/15/bin/pgbench -h 127.0.0.1 -p $port -U app -n -c 100 -j 2 -T $S -P 1 -S -M $M app 2>&1 | grep --line-buffered progress > /tmp/prof/modes-tps.out &
    sleep 0.5; read pu ps < <(awk '{print $14, $15}' /proc/$pid/stat)
    for i in $(seq $(( S - 1 ))); do sleep 1; read u s < <(awk '{print $14, $15}' /proc/$pid/stat); echo "$i $((u-pu)) $((s-ps))"; pu=$u; ps=$s; done > /tmp/prof/modes-cpu.out
    wait
    join <(awk '{print int($2), $4}' /tmp/prof/modes-tps.out) /tmp/prof/modes-cpu.out | awk -v t=$t -v r=$r '$1>1 {print r","t","$1","$2","$3","$4}' >> $out
  done
done
