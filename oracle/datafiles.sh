# Sourced by record.sh and the experiments that run kit programs: `kit_data_files PHASES DIR` makes each
# `file NAME SIZE` (SIZE in bytes or with K, M, G) of the program PHASES in DIR as record.sh always has: random bytes
# written in 4 KiB blocks, so ext4 caches the file as single-page folios (a larger first write, as head -c makes, gives
# a large folio that finish_fault maps whole; oracle/README.md, "Data files").
kit_data_files() {
  local phases=$1 dir=$2 f size
  mkdir -p "$dir"
  while read -r f size; do
    dd if=/dev/urandom of="$dir/$f" bs=4096 count=$(( (size + 4095) / 4096 )) status=none
  done < <(awk '$1 == "file" { s = $3; m = 1; if (s ~ /K$/) m = 1024; if (s ~ /M$/) m = 1048576; if (s ~ /G$/) m = 1073741824; sub(/[KMG]$/, "", s); print $2, s * m }' "$phases")
  sync
}
