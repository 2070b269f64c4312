#include "common.h"
int main(){ char *a=mmap(0,64*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
 unsigned long lo=(unsigned long)a-0x10000, hi=(unsigned long)a+64*4096+0x10000;
 munmap(a,64*4096);
 char *x=mmap(a,16*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 char *y=mmap(a+16*4096,16*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 maps("two adjacent untouched anon",lo,hi);
 touch(x,16*4096); touch(y,16*4096);
 char *z=mmap(a+32*4096,16*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 maps("third adjacent after touching",lo,hi);
 mprotect(a+8*4096,4*4096,PROT_READ); maps("mprotect middle ro",lo,hi);
 mprotect(a+8*4096,4*4096,PROT_READ|PROT_WRITE); maps("mprotect back rw",lo,hi);
 char *w=mmap(a+48*4096,16*4096,PROT_READ,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 maps("fourth read-only",lo,hi);
 mprotect(w,16*4096,PROT_READ|PROT_WRITE); maps("fourth made rw",lo,hi);
 (void)z; return 0;}
