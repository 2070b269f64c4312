// The simulated kernel's mechanisms, imported once as in src/Ecs.Mem.Systems/GlobalUsings.cs.
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
global using EcsMem.Systems.Machine;
