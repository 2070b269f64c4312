#include "common.h"
int main(){ setvbuf(stdout,0,_IONBF,0); long N=64*4096; flt("start");
 char *R=mmap(0,16*N,PROT_NONE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); munmap(R,16*N); char *a=mmap(R,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0); touch(a,N); flt("touch 64");
 unsigned long lo=(unsigned long)R, hi=(unsigned long)R+16*N;
 char *b=mremap(a,N,N/2,0); printf("shrink %p %p\n",a,b); flt("shrink");
 maps("after shrink",lo,hi);
 b=mremap(a,N/2,N,0); printf("grow in place -> %p\n",b); flt("grow in place"); touch(a,N); flt("touch after grow (32 new)");
 // block the tail
 char *blk=mmap(a+N,4096,PROT_READ,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0); (void)blk;
 b=mremap(a,N,2*N,0); printf("grow blocked no maymove -> %p errno %d\n",b,b==MAP_FAILED?errno:0);
 b=mremap(a,N,2*N,MREMAP_MAYMOVE); printf("grow maymove -> %p (moved %d)\n",b,b!=a); flt("mremap move");
 touch(b,N); flt("touch old 64 after move"); touch(b+N,N); flt("touch 64 new");
 maps("after move",(unsigned long)b-0x10000,(unsigned long)b+2*N+0x10000);
 char *c=mremap(b,2*N,2*N,MREMAP_MAYMOVE|MREMAP_FIXED,R+8*N); printf("fixed to %p -> %p\n",R+8*N,c); flt("fixed move");
 touch(c,2*N); flt("touch after fixed move");
 maps("after fixed",lo,hi);
 errno=0; char *e=mremap(c+1,4096,4096,0); printf("unaligned -> errno %d\n",errno);
 errno=0; e=mremap(c,4096,8192,MREMAP_FIXED,0); printf("fixed without maymove -> errno %d\n",errno);
 errno=0; e=mremap((char*)0x10000000,4096,8192,MREMAP_MAYMOVE); printf("unmapped -> errno %d\n",errno);
 errno=0; e=mremap(c,4096*4,4096*4,MREMAP_MAYMOVE|MREMAP_FIXED,c+4096*2); printf("overlap -> errno %d\n",errno);
 errno=0; e=mremap(c,0,4096,MREMAP_MAYMOVE); printf("old_len 0 private -> %p errno %d\n",e,errno);
 errno=0; e=mremap(c,4096,0,MREMAP_MAYMOVE); printf("new_len 0 -> errno %d\n",errno);
 errno=0; e=mremap(c,2*N+4096,2*N+8192,MREMAP_MAYMOVE); printf("old spans past vma -> errno %d\n",errno);
 errno=0; e=mremap(c,8192,8192,MREMAP_MAYMOVE|MREMAP_DONTUNMAP); printf("dontunmap -> %p errno %d\n",e,errno); flt("dontunmap");
 maps("after dontunmap",lo,hi);
 touch(c,8192); flt("touch old after dontunmap"); 
 errno=0; e=mremap(c,8192,4096,MREMAP_MAYMOVE|MREMAP_DONTUNMAP); printf("dontunmap size change -> errno %d\n",errno);
 errno=0; e=mremap(c,8192,8192,4); printf("bad flags -> errno %d\n",errno);
 return 0;}
