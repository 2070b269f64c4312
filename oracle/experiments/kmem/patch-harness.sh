#!/bin/bash
# The kit's harness.h with two additions (stdout: the patched copy), for kmem/run.sh:
#  - phase_end first writes "ecsmem-phase-end NAME" to fd 9 when ORACLE_MARKER is set (the trace instance's
#    trace_marker, opened by the wrapper shell before it joins the group, so its struct file is not the group's);
#  - the memcg record also holds memory.usage_in_bytes, memory.kmem.usage_in_bytes and memory.kmem.max_usage_in_bytes.
set -euo pipefail
perl -0pe '
  s|(static void phase_end\(const char \*name, int first\)\n\{\n)|$1    if (getenv("ORACLE_MARKER")) { char m[128]; int n = snprintf(m, sizeof m, "ecsmem-phase-end %s\\n", name); if (write(9, m, n) < 0) {} }\n|;
  s|(        if \(slurp\(path\) > 0\) emit\(",\\"max_usage_in_bytes\\":%ld", strtol\(buf, 0, 10\)\);\n)|$1        snprintf(path, sizeof path, "%s/memory.usage_in_bytes", cg);\n        if (slurp(path) > 0) emit(",\\"usage_in_bytes\\":%ld", strtol(buf, 0, 10));\n        snprintf(path, sizeof path, "%s/memory.kmem.usage_in_bytes", cg);\n        if (slurp(path) > 0) emit(",\\"kmem_usage_in_bytes\\":%ld", strtol(buf, 0, 10));\n        snprintf(path, sizeof path, "%s/memory.kmem.max_usage_in_bytes", cg);\n        if (slurp(path) > 0) emit(",\\"kmem_max_usage_in_bytes\\":%ld", strtol(buf, 0, 10));\n        emit(",");\n        pairs_with("/proc/self/status", "VmPTE");\n|;
' "$1"
