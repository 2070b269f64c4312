# The stops: S0 before warm_up, W after it, A1, A2, ... before each phase_end (each window's end). Raw syscalls (no libc
# call, so no lazy binding and no libc page touched by the stop itself).
s|^#include "../harness.h"|&\
static inline long sc2(long n, long a, long b) { long r; __asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b) : "rcx", "r11", "memory"); return r; }\
static void stop(void) { sc2(62, sc2(39, 0, 0), SIGSTOP); }|
s|^    warm_up();|    stop();\n    warm_up();\n    stop();|
s|^    phase_end(|    stop();\n    phase_end(|
