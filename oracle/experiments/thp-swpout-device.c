/*
 * THP_SWAP on the real kernel: which swap devices take a THP whole. The kit records faults and smaps, not
 * /proc/vmstat; this program prints the vmstat deltas of a THP region reclaimed under a memory cgroup.
 *
 * ARG MiB of anonymous memory at a 2 MiB boundary with MADV_HUGEPAGE is written in 4 KiB steps, then written again;
 * after each pass it prints the change in thp_fault_alloc, thp_fault_fallback, thp_swpout, thp_swpout_fallback,
 * thp_split_page, thp_split_pmd, pswpout, pswpin, thp_deferred_split_page, and its smaps_rollup AnonHugePages, Swap
 * and Rss (kB), and the pass's minor and major faults. Run it inside a 16 MiB memcg v1 with swap on, under the lock:
 *
 *   gcc -O2 -o /tmp/thp-swpout-device oracle/experiments/thp-swpout-device.c
 *   # swap file:   fallocate -l 1G F; mkswap F; swapon F
 *   # block device: fallocate -l 1G F; D=$(losetup -f --show F); mkswap $D; swapon $D
 *   mkdir /sys/fs/cgroup/memory/T; echo 16M > /sys/fs/cgroup/memory/T/memory.limit_in_bytes
 *   flock /work/kernel.lock sh -c 'echo $$ > /sys/fs/cgroup/memory/T/cgroup.procs; exec setarch -R /tmp/thp-swpout-device 32'
 *   # then swapoff, losetup -d, rm F, rmdir the cgroup
 *
 * Recorded 2026-12-05 on this machine (Linux 6.18, THP madvise), 32 MiB: with a 1 GiB swap file, write pass
 * thp_fault_alloc 16, thp_swpout 0, thp_swpout_fallback 11, thp_split_page 11, thp_split_pmd 11 (a swap file has no
 * SWP_BLKDEV, so cluster_alloc_swap_entry refuses the order-9 entry); with the same file behind a loop device,
 * thp_swpout 12, thp_swpout_fallback 0, thp_split_page 0, thp_split_pmd 12 (swapped out whole), the rewrite pass
 * 7,165 / 1,028 faults. EcsMem: tests/Ecs.Mem.Tests/Kernel/ThpSwapTests.cs; kit programs thp-swpout, thp-swpout-fallback.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
static long rd(const char *f, const char *key){FILE*p=fopen(f,"r");char k[128];long v;long r=-1;while(fscanf(p,"%127s %ld",k,&v)==2){if(!strcmp(k,key)){r=v;break;}}fclose(p);return r;}
static long smaps(const char*key){FILE*p=fopen("/proc/self/smaps_rollup","r");char line[256];long r=-1;size_t n=strlen(key);while(fgets(line,sizeof line,p)){if(!strncmp(line,key,n)&&line[n]==':'){r=atol(line+n+1);}}fclose(p);return r;}
static const char*vk[]={"thp_fault_alloc","thp_fault_fallback","thp_swpout","thp_swpout_fallback","thp_split_page","thp_split_pmd","pswpout","pswpin","thp_deferred_split_page",0};
static long v0[16];
static void snap(void){for(int i=0;vk[i];i++)v0[i]=rd("/proc/vmstat",vk[i]);}
static void diff(const char*ph){printf("%s:",ph);for(int i=0;vk[i];i++)printf(" %s=%ld",vk[i],rd("/proc/vmstat",vk[i])-v0[i]);printf(" AnonHuge=%ld Swap=%ld Rss=%ld\n",smaps("AnonHugePages"),smaps("Swap"),smaps("Rss"));}
int main(int argc,char**argv){
  size_t sz=(size_t)atol(argv[1])<<20;
  char*p=mmap((void*)(16UL<<40),sz,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE,-1,0);
  madvise(p,sz,MADV_HUGEPAGE);
  struct rusage a,b;
  snap();getrusage(RUSAGE_SELF,&a);
  for(size_t o=0;o<sz;o+=4096)p[o]=1;
  getrusage(RUSAGE_SELF,&b);diff("write");printf(" minflt=%ld majflt=%ld\n",b.ru_minflt-a.ru_minflt,b.ru_majflt-a.ru_majflt);
  snap();getrusage(RUSAGE_SELF,&a);
  for(size_t o=0;o<sz;o+=4096)p[o]++;
  getrusage(RUSAGE_SELF,&b);diff("rewrite");printf(" minflt=%ld majflt=%ld\n",b.ru_minflt-a.ru_minflt,b.ru_majflt-a.ru_majflt);
  return 0;}
