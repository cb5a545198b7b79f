namespace TimeBill.Templates.Syntax;

/// <summary>What a <c>set</c>, <c>for</c> or <c>with</c> assigns to.</summary>
internal abstract record AssignTarget(int Line);

/// <summary>A variable.</summary>
internal sealed record NameTarget(int Line, string Name) : AssignTarget(Line);

/// <summary><c>a, b</c>: the value is unpacked into the parts.</summary>
internal sealed record TupleTarget(int Line, IReadOnlyList<AssignTarget> Items) : AssignTarget(Line);

/// <summary><c>ns.attr</c>: an attribute of a <c>namespace()</c> object.</summary>
internal sealed record NamespaceAttributeTarget(int Line, string Namespace, string Attribute) : AssignTarget(Line);
