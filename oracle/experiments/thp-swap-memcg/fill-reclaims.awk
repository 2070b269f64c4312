# written/reclaimed per memcg reclaim of the fill (the THP charges: gfp with __GFP_NOMEMALLOC) of a kit.sh trace:
# awk -f fill-reclaims.awk OUT/trace.1.txt
/memcg_reclaim_begin/ {fill = ($0 ~ /NOMEMALLOC/); w=0; if (fill) n++; next}
/write_folio/ {w++; next}
/memcg_reclaim_end/ { if (fill) { split($6,a,"="); s = s sprintf(" %d/%s", w, a[2]); tw += w } next}
END {printf "%s   (fill: %d reclaims, %d pages written)\n", s, n, tw}
