#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <errno.h>
static long lastmin, lastmaj;
static void flt(const char *what){struct rusage r;getrusage(RUSAGE_SELF,&r);printf("%s: minflt +%ld majflt +%ld\n",what,r.ru_minflt-lastmin,r.ru_majflt-lastmaj);lastmin=r.ru_minflt;lastmaj=r.ru_majflt;}
#include <fcntl.h>
static char mbuf[1<<16];
static void maps(const char *what, unsigned long lo, unsigned long hi){int fd=open("/proc/self/maps",O_RDONLY);long n=0,r;while((r=read(fd,mbuf+n,sizeof mbuf-1-n))>0)n+=r;mbuf[n]=0;close(fd);printf("-- %s\n",what);char*l=mbuf;while(*l){char*nl=strchr(l,'\n');*nl=0;unsigned long s=strtoul(l,0,16),e=strtoul(strchr(l,'-')+1,0,16);if(e>lo&&s<hi)printf("%s\n",l);l=nl+1;}}
static void touch(char*p,long n){for(long i=0;i<n;i+=4096)p[i]=1;}
static void rd(volatile char*p,long n){for(long i=0;i<n;i+=4096)(void)p[i];}
