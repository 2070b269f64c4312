
namespace EcsMem.Systems.Timing;

/// <summary>
/// Prices simulated events with a <see cref="TimingModel"/> and books them into a
/// <see cref="CycleAccounting"/>. Each method returns the cycles it charged, so the caller can also advance
/// the simulation clock by them.
/// </summary>
public sealed class AccessTimer
{
    private readonly TimingModel _model;
    private readonly long _majorFault;
    private readonly long _swapOut;

    public AccessTimer(TimingModel model, CycleAccounting? accounting = null)
    {
        model.Validate();
        _model = model;
        _majorFault = model.MajorFaultCycles;
        _swapOut = model.SwapOutCycles;
        Accounting = accounting ?? new CycleAccounting();
    }

    public TimingModel Model => _model;
    public CycleAccounting Accounting { get; }

    /// <summary>One access: translation by <paramref name="tlb"/>, data from <paramref name="level"/>.</summary>
    public long Access(TlbOutcome tlb, MemoryLevel level)
    {
        long t = _model.TranslationCycles(tlb);
        long m = _model.CacheCycles(level);
        Accounting.RecordAccess(t, m);
        return t + m;
    }

    public long MinorFault()
    {
        Accounting.Charge(CycleCategory.Fault, _model.MinorFaultCycles);
        return _model.MinorFaultCycles;
    }

    public long MajorFault()
    {
        Accounting.Charge(CycleCategory.Fault, _majorFault);
        return _majorFault;
    }

    /// <summary>Reclaim writing <paramref name="pages"/> pages out.</summary>
    public long SwapOut(int pages)
    {
        long c = _swapOut * pages;
        Accounting.Charge(CycleCategory.Reclaim, c);
        return c;
    }

    /// <summary>
    /// A flush: <paramref name="pagesInvalidated"/> INVLPGs on this CPU plus <paramref name="remoteCpus"/>
    /// shootdown IPIs (the value the TlbSystem flush methods return), charged to reclaim.
    /// </summary>
    public long TlbFlush(int pagesInvalidated, int remoteCpus)
    {
        long c = (long)pagesInvalidated * _model.TlbFlushOneCycles + (long)remoteCpus * _model.TlbShootdownCycles;
        Accounting.Charge(CycleCategory.Reclaim, c);
        return c;
    }

    public long ContextSwitch()
    {
        Accounting.Charge(CycleCategory.Switch, _model.ContextSwitchCycles);
        return _model.ContextSwitchCycles;
    }
}
