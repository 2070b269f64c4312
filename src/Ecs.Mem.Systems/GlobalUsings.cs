// The mechanisms of the simulated kernel, one namespace per folder named after its Linux file. Systems use
// several of them at once (a fault goes through Fault/, PageAlloc/, Filemap/, Memory/ and Rmap/), so they are
// imported once here rather than in every file.
global using EcsMem.Systems.AddressSpace;
global using EcsMem.Systems.Cpu;
global using EcsMem.Systems.Fault;
global using EcsMem.Systems.Filemap;
global using EcsMem.Systems.Kernel;
global using EcsMem.Systems.Memory;
global using EcsMem.Systems.PageAlloc;
global using EcsMem.Systems.Rmap;
global using EcsMem.Systems.Swap;
global using EcsMem.Systems.Task;
global using EcsMem.Systems.Tlb;
global using EcsMem.Systems.Vmscan;
