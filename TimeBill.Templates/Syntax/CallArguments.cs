namespace TimeBill.Templates.Syntax;

/// <summary>The arguments of a call, filter or test: positional ones, then <c>name=value</c> ones.</summary>
internal sealed record CallArguments(IReadOnlyList<Expression> Positional, IReadOnlyList<(string Name, Expression Value)> Keywords)
{
    public static readonly CallArguments None = new([], []);
}
