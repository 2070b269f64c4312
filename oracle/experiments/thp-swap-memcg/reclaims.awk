# Per-call summary of a kit.sh trace: awk -v maxn=N -f reclaims.awk OUT/trace.1.txt (the first N memcg reclaims:
# each shrink_inactive_list call with its priority, the pages taken, written (mm_vmscan_write_folio since the last
# call) and reclaimed, and the block plug's unplugs and requests).
/memcg_reclaim_begin/ {w=0; n++; if (n>maxn) exit; printf "  reclaim %d begins %s\n", n, $4; next}
/memcg_reclaim_end/ {split($6,a,"="); printf "  reclaim %d ends %s nr_reclaimed %s\n", n, $4, a[2]; next}
n<1 {next}
/write_folio/ {w++; next}
/lru_isolate/ { match($0,/nr_taken=[0-9]+/); tk=substr($0,RSTART+9,RLENGTH-9); match($0,/lru=[a-z_]+/); l=substr($0,RSTART+4,RLENGTH-4); next}
/shrink_inactive/ { match($0,/nr_reclaimed=[0-9]+/); r=substr($0,RSTART+13,RLENGTH-13); match($0,/nr_ref_keep=[0-9]+/); k=substr($0,RSTART+12,RLENGTH-12); match($0,/priority=[0-9]+/); p=substr($0,RSTART+9,RLENGTH-9); printf "    %s p=%-2s %-13s taken %4s written %4d reclaimed %3s ref_keep %3s\n", $4, p, l, tk, w, r, k; w=0; next}
/block_unplug/ {printf "    %s block_unplug %s request(s)\n", $4, $NF; next}
/block_rq_issue/ {printf "    %s   block_rq_issue W %s bytes\n", $4, $8; next}
