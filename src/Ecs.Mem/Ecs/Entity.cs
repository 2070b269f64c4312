using System.Runtime.CompilerServices;

namespace EcsMem.Ecs;

/// <summary>
/// A handle to an entity: an id (a slot in the world's entity table, recycled after destroy) and the
/// version the slot had when the handle was made. A handle whose version no longer matches is stale:
/// every World operation checks this and throws <see cref="StaleEntityException"/> instead of silently
/// touching whatever entity now owns the recycled id.
/// </summary>
public readonly struct Entity : IEquatable<Entity>, IComparable<Entity>
{
    /// <summary>The null entity: version 0 is never alive.</summary>
    public static readonly Entity Null;

    public readonly int Id;
    public readonly int Version;

    public Entity(int id, int version)
    {
        Id = id;
        Version = version;
    }

    /// <summary>True for the null entity (never created by a world).</summary>
    public bool IsNull
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Version == 0;
    }

    public bool Equals(Entity other) => Id == other.Id && Version == other.Version;
    public override bool Equals(object? obj) => obj is Entity e && Equals(e);
    public override int GetHashCode() => HashCode.Combine(Id, Version);
    public int CompareTo(Entity other) => Id != other.Id ? Id.CompareTo(other.Id) : Version.CompareTo(other.Version);
    public static bool operator ==(Entity a, Entity b) => a.Equals(b);
    public static bool operator !=(Entity a, Entity b) => !a.Equals(b);
    public override string ToString() => IsNull ? "Entity(null)" : $"Entity({Id}v{Version})";
}
