namespace EcsMem.Components;

/// <summary>
/// Maps the small integer file ids stored in <see cref="Vma.FileId"/> to the file's path, device and inode.
/// Identical entries share one id so VMAs of the same file compare equal by id (needed for vma_merge).
/// </summary>
public sealed class FileTable
{
    private readonly List<MappedFile> _files = new();
    private readonly Dictionary<MappedFile, int> _ids = new();

    /// <summary>Number of distinct files registered.</summary>
    public int Count => _files.Count;

    /// <summary>Returns the id of the file, registering it if new.</summary>
    public int Intern(in MappedFile file)
    {
        if (_ids.TryGetValue(file, out int id))
        {
            return id;
        }

        id = _files.Count;
        _files.Add(file);
        _ids.Add(file, id);
        return id;
    }

    /// <summary>Registers a file by path with device and inode.</summary>
    public int Intern(string path, uint major = 0, uint minor = 0, ulong inode = 0) => Intern(new MappedFile(path, major, minor, inode));

    /// <summary>
    /// The file <paramref name="id"/> takes a new name (an unlinked file shows as "PATH (deleted)"): its old name no
    /// longer interns to it, so the path's next file gets an id of its own.
    /// </summary>
    public void Rename(int id, in MappedFile file)
    {
        _ids.Remove(_files[id]);
        _files[id] = file;
        _ids.TryAdd(file, id);
    }

    /// <summary>The file with the given id.</summary>
    public MappedFile this[int id] => _files[id];
}
