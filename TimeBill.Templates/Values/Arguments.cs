using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>The evaluated arguments of a call, filter or test (the filtered value or tested value not included).</summary>
internal sealed class Arguments(IReadOnlyList<object?> positional, IReadOnlyList<KeyValuePair<string, object?>> keywords)
{
    public static readonly Arguments None = new([], []);

    public IReadOnlyList<object?> Positional { get; } = positional;

    public IReadOnlyList<KeyValuePair<string, object?>> Keywords { get; } = keywords;

    /// <summary>
    /// Binds the arguments to <paramref name="parameters"/> by position, then by name, as Python does; more
    /// positional arguments than parameters, an unknown keyword or a parameter given twice fails naming <paramref name="callee"/>.
    /// </summary>
    public BoundArguments Bind(string callee, params string[] parameters)
    {
        if (Positional.Count > parameters.Length)
            throw new RenderError($"{callee}() takes at most {parameters.Length} argument(s), {Positional.Count} given.");
        var values = new object?[parameters.Length];
        var given = new bool[parameters.Length];
        for (int i = 0; i < Positional.Count; i++)
        {
            values[i] = Positional[i];
            given[i] = true;
        }
        foreach (var (name, value) in Keywords)
        {
            int i = Array.IndexOf(parameters, name);
            if (i < 0) throw new RenderError($"{callee}() got an unexpected keyword argument '{name}'.");
            if (given[i]) throw new RenderError($"{callee}() got multiple values for argument '{name}'.");
            values[i] = value;
            given[i] = true;
        }
        return new BoundArguments(callee, parameters, values, given);
    }
}

/// <summary>Arguments bound to named parameters; each accessor takes the default used when the argument is absent.</summary>
internal sealed class BoundArguments(string callee, string[] parameters, object?[] values, bool[] given)
{
    public bool Has(int i) => given[i];

    public object? Get(int i, object? fallback = null) => given[i] ? values[i] : fallback;

    public object? Required(int i) =>
        given[i] ? values[i] : throw new RenderError($"{callee}() missing required argument '{parameters[i]}'.");

    public bool Bool(int i, bool fallback) => given[i] ? Truth.IsTrue(values[i]) : fallback;

    public long Int(int i, long fallback) => given[i] ? Coerce.ToInt(values[i], $"{callee}() argument '{parameters[i]}'") : fallback;

    public string? String(int i, string? fallback) => given[i] ? Coerce.ToStr(values[i], $"{callee}() argument '{parameters[i]}'") : fallback;
}
