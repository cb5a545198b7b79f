namespace TimeBill.Templates.Evaluation;

/// <summary>
/// Variables visible at a point of the template: its own, then its parent's. A for-loop iteration, a macro call and
/// a with block each get a new scope, so what they set does not leak out; an if does not.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Scope? _parent = parent;
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public bool TryGet(string name, out object? value)
    {
        for (Scope? s = this; s is not null; s = s._parent)
            if (s._variables.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _variables[name] = value;
}
