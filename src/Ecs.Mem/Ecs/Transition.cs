namespace EcsMem.Ecs;

/// <summary>
/// A cached add or remove edge between two archetypes: where the entity goes and how its row is copied.
/// Worked out once, when the edge is first taken, so a move copies the shared columns from a flat plan
/// instead of merging two component lists every time.
/// </summary>
internal sealed class Transition
{
    public Transition(Archetype from, Archetype to)
    {
        Destination = to;
        (Plain, Managed) = RowCopy.Plan(Shared(from.Types, to.Types));
    }

    public Archetype Destination { get; }

    /// <summary>Shared columns without references, in component-id order.</summary>
    public ColumnCopy[] Plain { get; }

    /// <summary>Shared columns holding references, in component-id order.</summary>
    public ManagedColumnCopy[] Managed { get; }

    private static IEnumerable<(int, int, ComponentType)> Shared(ComponentType[] a, ComponentType[] b)
    {
        // Both column lists are sorted by component id: a merge walk finds the shared ones.
        for (int i = 0, j = 0; i < a.Length && j < b.Length;)
        {
            if (a[i].Id == b[j].Id)
            {
                yield return (i, j, a[i]);
                i++;
                j++;
            }
            else if (a[i].Id < b[j].Id) i++;
            else j++;
        }
    }
}
