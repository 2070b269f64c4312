# Independent transliteration of mm/page_alloc.c 6.7+ rules for one CPU, one list (for the pcp-autotune experiment).
def clamp(v, lo, hi): return hi if v >= hi else (lo if v <= lo else v)
def run(count, high, batch, hmin, hmax, n, decays):
    af = fc = 0
    refilled = 0
    for _ in range(n):                       # n allocations
        fc >>= 1
        if count == 0:
            high = clamp(high, hmin, hmax)
            b = batch << af
            if hmin != hmax: high = min(high + b, hmax)
            mx = max(high - count - batch, batch)
            if b <= mx and af < 5: af += 1
            b = min(b, mx); count += b; refilled += b
        count -= 1
    touched = (count, high)
    bulks = 0
    for _ in range(n):                       # n frees
        af >>= 1; count += 1
        if fc < batch << 5: fc += 1
        high = clamp(high, hmin, hmax); h = high
        if count >= high:
            need = fc + batch
            if high < need: high = clamp(need, hmin, hmax)
        if count >= h:
            nf = clamp(fc, batch, h - batch); count -= nf; bulks += nf
    freed = (count, high)
    d = []
    for _ in range(decays):
        if high > hmin: high = max(count - (batch << 5), high - (high >> 3), hmin)
        if count > high: count = high
        d.append((count, high))
    return touched, freed, d
for (c, h) in [(5746, 9415), (4297, 9487), (5561, 10079)]:
    t, f, d = run(c, h, 63, 6750, 86016, 25600, 20)
    print("start", (c, h), "touched", t, "freed", f, "decay", d[:4], "...", d[-1])
