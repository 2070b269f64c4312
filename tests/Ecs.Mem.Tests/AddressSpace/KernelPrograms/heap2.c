#include "common.h"
int main(){ setvbuf(stdout,0,_IONBF,0); char *b0=sbrk(0); sbrk(8192); char *b1=sbrk(0);
 unsigned long lo=(unsigned long)b0-0x100000, hi=(unsigned long)b1+0x100000;
 maps("brk area untouched",lo,hi);
 char *p=mmap(b1,16384,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 maps("after mmap fixed at brk end (heap untouched)",lo,hi);
 return 0;}
