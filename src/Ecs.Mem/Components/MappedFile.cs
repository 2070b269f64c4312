namespace EcsMem.Components;

/// <summary>
/// What /proc/pid/maps shows about a mapped file: its path and the device and inode of its
/// super block and inode (s_dev, i_ino). Special mappings keep their bracketed name here with device 0:0.
/// </summary>
public readonly record struct MappedFile(string Path, uint Major, uint Minor, ulong Inode);
