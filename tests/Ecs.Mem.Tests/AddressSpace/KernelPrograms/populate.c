#include "common.h"
#include <fcntl.h>
int main(){ setvbuf(stdout,0,_IONBF,0); long N=256*4096; flt("start");
 char *a=mmap(0,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE,-1,0); flt("populate anon rw 256");
 touch(a,N); flt("touch");
 char *r=mmap(0,N,PROT_READ,MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE,-1,0); flt("populate anon ro 256"); rd(r,N); flt("read ro");
 char *l=mmap(0,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED,-1,0); flt("map locked 256"); touch(l,N); flt("touch locked");
 char *m=mmap(0,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); mlock(m,N); flt("mlock 256"); touch(m,N); flt("touch");
 maps("locked",(unsigned long)l,(unsigned long)l+N); 
 char *o=mmap(0,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); mlock2(o,N,MLOCK_ONFAULT); flt("mlock onfault 256"); touch(o,N); flt("touch");
 char *s=mmap(0,N,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS|MAP_POPULATE,-1,0); flt("populate shared anon 256");
 char *h=mmap(0,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); touch(h,N/2); flt("touch half"); mlock(h,N); flt("mlock with half present");
 munlock(h,N); munlock(m,N);
 char *d=mmap(0,N,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); touch(d,N); flt("touch d"); madvise(d,N,MADV_DONTNEED); flt("dontneed"); touch(d,N); flt("touch after dontneed");
 madvise(d,N,MADV_FREE); flt("free"); touch(d,N); flt("touch after free");
 madvise(d,N,MADV_COLD); madvise(d,N,MADV_PAGEOUT); flt("cold pageout");
 rd(d,N); flt("read after pageout");
 errno=0; int rc=madvise(d+N-4096,8192,MADV_DONTNEED); printf("dontneed past end rc %d errno %d\n",rc,errno);
 errno=0; rc=madvise(d,N,12345); printf("bad advice errno %d\n",errno);
 errno=0; rc=madvise(l,N,MADV_DONTNEED); printf("dontneed locked errno %d\n",errno);
 madvise(d+4096,8192,MADV_DONTFORK); maps("dontfork",(unsigned long)d,(unsigned long)d+N);
 madvise(d+4096,8192,MADV_DOFORK); maps("dofork",(unsigned long)d,(unsigned long)d+N);
 madvise(d+4096,8192,MADV_HUGEPAGE); maps("hugepage",(unsigned long)d,(unsigned long)d+N);
 { char b[256]; FILE*f=fopen("/proc/self/status","r"); while(fgets(b,256,f)) if(!strncmp(b,"VmLck",5)) fputs(b,stdout); fclose(f);}
 return 0;}
