namespace EcsMem.Ecs;

/// <summary>
/// A destroyed or recycled entity handle was used. This is a bug in the caller (a system kept a handle
/// past the entity's life), so it is an exception, not a silent no-op.
/// </summary>
public sealed class StaleEntityException : InvalidOperationException
{
    public StaleEntityException(Entity entity, int currentVersion)
        : base(currentVersion == 0
            ? $"{entity} was never created by this world"
            : $"{entity} is not alive: id {entity.Id} is now at version {currentVersion} (destroyed or recycled)")
    {
        Entity = entity;
    }

    public Entity Entity { get; }
}

/// <summary>An entity was asked for a component it does not have (or given one it already has).</summary>
public sealed class ComponentMismatchException : InvalidOperationException
{
    public ComponentMismatchException(string message) : base(message)
    {
    }
}
