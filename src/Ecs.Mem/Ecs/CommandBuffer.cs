namespace EcsMem.Ecs;

/// <summary>
/// Records structural changes (create, destroy, add, remove, set) while a query iterates, and plays them
/// back afterwards in exactly the recorded order. Each command is a fixed-size record; component values
/// go to per-type typed buffers, so recording allocates nothing once the buffers have grown, and playback
/// is one pass (linear in the number of commands, unlike buffers that re-sort or re-search per entity).
/// </summary>
public sealed class CommandBuffer
{
    private enum Op : byte
    {
        Create,
        Destroy,
        Add,
        Remove,
        Set,
    }

    private struct Command
    {
        public Op Op;
        public Entity Entity;
        public int ComponentId;
        public int Payload; // index into the component's value buffer, or into _createArchetypes
    }

    /// <summary>
    /// Version of the deferred handles of the current recording: always negative (never a real version),
    /// and different for each recording, so a deferred handle kept past its playback is recognised as
    /// stale instead of resolving to whatever entity the next recording creates at the same index.
    /// </summary>
    private int _deferredVersion = -1;

    private readonly World _world;
    private Command[] _commands = new Command[64];
    private int _count;
    private ValueBuffer?[] _values = new ValueBuffer?[16];
    private Archetype[] _createArchetypes = new Archetype[16];
    private int _createCount;
    private Entity[] _resolved = new Entity[16];
    private (ComponentType[] Types, Archetype Archetype)[] _shapes = new (ComponentType[], Archetype)[4];
    private int _shapeCount;

    public CommandBuffer(World world) => _world = world;

    /// <summary>Number of recorded commands not yet played back.</summary>
    public int Count => _count;

    /// <summary>
    /// Records the creation of an entity with the given component types (default values). The returned
    /// handle is valid only inside this buffer (for Add/Set/Remove/Destroy recorded after it); playback
    /// maps it to the real entity.
    /// </summary>
    public Entity Create(params ReadOnlySpan<ComponentType> types)
    {
        Archetype a = ArchetypeOf(types);
        if (_createCount == _createArchetypes.Length)
        {
            Array.Resize(ref _createArchetypes, _createCount * 2);
            Array.Resize(ref _resolved, _createCount * 2);
        }
        int k = _createCount++;
        _createArchetypes[k] = a;
        var handle = new Entity(-(k + 1), _deferredVersion);
        Push(Op.Create, handle, -1, k);
        return handle;
    }

    public void Destroy(Entity entity) => Push(Op.Destroy, entity, -1, -1);

    public void Add<T>(Entity entity, in T value) where T : struct =>
        Push(Op.Add, entity, Component<T>.Id, Values<T>().Append(value));

    public void Set<T>(Entity entity, in T value) where T : struct =>
        Push(Op.Set, entity, Component<T>.Id, Values<T>().Append(value));

    public void Remove<T>(Entity entity) where T : struct => Push(Op.Remove, entity, Component<T>.Id, -1);

    /// <summary>Applies every recorded command in order, then clears the buffer.</summary>
    public void Playback()
    {
        try
        {
            for (int i = 0; i < _count; i++)
            {
                // The commands ahead are known, so their entities' records can be on their way while this
                // one runs (see World.PrefetchDistance); a deferred handle's negative id is ignored.
                if (i + World.PrefetchDistance < _count)
                    _world.PrefetchRecord(_commands[i + World.PrefetchDistance].Entity);
                ref Command c = ref _commands[i];
                switch (c.Op)
                {
                    case Op.Create:
                        _resolved[c.Payload] = _world.CreateDefault(_createArchetypes[c.Payload]);
                        break;
                    case Op.Destroy:
                        _world.Destroy(Resolve(c.Entity));
                        break;
                    case Op.Add:
                        _values[c.ComponentId]!.Add(_world, Resolve(c.Entity), c.Payload);
                        break;
                    case Op.Set:
                        _values[c.ComponentId]!.Set(_world, Resolve(c.Entity), c.Payload);
                        break;
                    case Op.Remove:
                        ComponentRegistry.Get(c.ComponentId).Ops.Remove(_world, Resolve(c.Entity));
                        break;
                }
            }
        }
        finally
        {
            Clear();
        }
    }

    /// <summary>Drops every recorded command without applying it.</summary>
    public void Clear()
    {
        _count = 0;
        _createCount = 0;
        // Next recording's deferred handles get a fresh negative version (wrapping within the negatives).
        _deferredVersion = _deferredVersion == int.MinValue ? -1 : _deferredVersion - 1;
        foreach (var v in _values)
            v?.Clear();
    }

    private Entity Resolve(Entity e)
    {
        if (e.Version >= 0)
            return e;
        int k = -e.Id - 1;
        // Only handles of this recording resolve (their Create precedes any use, so it was played first).
        if (e.Version != _deferredVersion || (uint)k >= (uint)_createCount)
            throw new StaleEntityException(e, 0);
        return _resolved[k];
    }

    /// <summary>
    /// The archetype for a Create's type list. Building a <see cref="Signature"/> allocates, so the lists
    /// seen before are remembered (compared element by element): recording the same shapes again is
    /// allocation-free.
    /// </summary>
    private Archetype ArchetypeOf(ReadOnlySpan<ComponentType> types)
    {
        for (int i = 0; i < _shapeCount; i++)
            if (types.SequenceEqual(_shapes[i].Types))
                return _shapes[i].Archetype;
        Archetype a = _world.GetOrCreateArchetype(SignatureKeys.Build(types));
        if (_shapeCount == _shapes.Length)
            Array.Resize(ref _shapes, _shapeCount * 2);
        _shapes[_shapeCount++] = (types.ToArray(), a);
        return a;
    }

    private void Push(Op op, Entity entity, int componentId, int payload)
    {
        if (_count == _commands.Length)
            Array.Resize(ref _commands, _count * 2);
        _commands[_count++] = new Command { Op = op, Entity = entity, ComponentId = componentId, Payload = payload };
    }

    private ValueBuffer<T> Values<T>() where T : struct
    {
        int id = Component<T>.Id;
        if (id >= _values.Length)
            Array.Resize(ref _values, Math.Max(id + 1, _values.Length * 2));
        return (ValueBuffer<T>)(_values[id] ??= new ValueBuffer<T>());
    }

    private abstract class ValueBuffer
    {
        public abstract void Add(World world, Entity e, int index);
        public abstract void Set(World world, Entity e, int index);
        public abstract void Clear();
    }

    private sealed class ValueBuffer<T> : ValueBuffer where T : struct
    {
        private T[] _items = new T[16];
        private int _count;

        public int Append(in T value)
        {
            if (_count == _items.Length)
                Array.Resize(ref _items, _count * 2);
            _items[_count] = value;
            return _count++;
        }

        public override void Add(World world, Entity e, int index) => world.Add(e, in _items[index]);
        public override void Set(World world, Entity e, int index) => world.Set(e, in _items[index]);

        public override void Clear()
        {
            if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                Array.Clear(_items, 0, _count);
            _count = 0;
        }
    }
}
