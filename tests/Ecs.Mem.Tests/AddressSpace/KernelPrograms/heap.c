#include "common.h"
int main(){ setvbuf(stdout,0,_IONBF,0); char *b0=sbrk(0); sbrk(8192); touch(b0,8192); char *b1=sbrk(0);
 unsigned long lo=(unsigned long)b0-0x100000, hi=(unsigned long)b1+0x100000;
 maps("brk area",lo,hi);
 char *p=mmap(b1,16384,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 printf("fixed at brk end %p==%p\n",p,b1); maps("after mmap fixed at brk end",lo,hi);
 touch(p,16384); maps("after touch",lo,hi);
 char *q=mmap(p+16384,8192,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
 printf("hint %p got %p\n",p+16384,q); maps("after hint mmap",lo,hi);
 return 0;}
