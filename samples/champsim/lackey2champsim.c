/*
 * lackey2champsim: turns a Valgrind Lackey memory trace (valgrind --tool=lackey --trace-mem=yes) into ChampSim
 * input_instr records, for a small real ChampSim trace without Intel Pin (ChampSim's own tracer is a Pin tool).
 * Written for EcsMem from the record layout in ChampSim's inc/trace_instruction.h:
 *   u64 ip; u8 is_branch, branch_taken; u8 destination_registers[2]; u8 source_registers[4];
 *   u64 destination_memory[2]; u64 source_memory[4];   -- 64 bytes, little-endian on x86-64
 * One record per "I  ADDR,SIZE" line; the " L" lines that follow fill source_memory, " S" lines
 * destination_memory, and " M" lines one of each (a read-write operand, as the Pin tracer records it).
 * Operands beyond 4 sources / 2 destinations are dropped, as ChampSim's tracer drops them; data lines before
 * the first instruction and Valgrind's "==pid==" lines are skipped. Branch and register fields are 0 (Lackey
 * does not print them). Usage: lackey2champsim MAX_INSTRUCTIONS < trace.lackey > trace.champsim
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record {
    uint64_t ip;
    uint8_t is_branch, branch_taken;
    uint8_t destination_registers[2];
    uint8_t source_registers[4];
    uint64_t destination_memory[2];
    uint64_t source_memory[4];
};

_Static_assert(sizeof(struct record) == 64, "input_instr is 64 bytes");

int main(int argc, char **argv)
{
    long max = argc > 1 ? atol(argv[1]) : -1, written = 0;
    struct record r;
    int open = 0, nsrc = 0, ndst = 0;
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char kind;
        unsigned long long addr;
        if (line[0] == 'I' && sscanf(line + 1, " %llx,", &addr) == 1) {
            if (open) {
                fwrite(&r, sizeof r, 1, stdout);
                if (++written == max) return 0;
            }
            memset(&r, 0, sizeof r);
            r.ip = addr;
            open = 1;
            nsrc = ndst = 0;
        } else if (line[0] == ' ' && sscanf(line, " %c %llx,", &kind, &addr) == 2 && open) {
            if ((kind == 'L' || kind == 'M') && nsrc < 4) r.source_memory[nsrc++] = addr;
            if ((kind == 'S' || kind == 'M') && ndst < 2) r.destination_memory[ndst++] = addr;
        }
    }
    if (open) fwrite(&r, sizeof r, 1, stdout);
    return 0;
}
