#include <sys/mman.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <stdlib.h>
int main(void){
  void *b = sbrk(0); brk((char*)b + 1048576);
  char *p = mmap(NULL, 33554432, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  p[0]=1;
  mprotect(p, 4096, PROT_READ);
  mprotect(p, 4096, PROT_NONE);
  munmap(p, 33554432);
  mmap(NULL, 1UL<<46, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0);
  mmap(NULL, 4096, PROT_READ, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
  mmap((void*)0x10000000, 8192, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0);
  munmap((void*)0x10000001, 4096);
  pid_t c = fork(); if (c==0) { syscall(SYS_exit_group, 0);} waitpid(c,0,0);
  syscall(SYS_fork);
  syscall(SYS_exit_group, 0);
}
/* Recorded on Linux 6.18 x86-64 with strace 6.1:
 *   gcc -O0 -o t strace-demo.c && strace -e trace=brk,mmap,munmap,mprotect,fork,exit_group ./t
 * The lines StraceFormatTests compares with are pasted there, with the other recorded programs' lines
 * (a file mapping at an offset, every MAP_ flag the simulator knows, fork via SYS_fork, exit via SYS_exit). */
