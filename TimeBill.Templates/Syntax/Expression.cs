namespace TimeBill.Templates.Syntax;

/// <summary>An expression node; <see cref="Line"/> is where it starts in the template.</summary>
internal abstract record Expression(int Line);

/// <summary>A literal: none, a bool, an integer (long), a float (double) or a string.</summary>
internal sealed record LiteralExpression(int Line, object? Value) : Expression(Line);

/// <summary>A variable reference.</summary>
internal sealed record NameExpression(int Line, string Name) : Expression(Line);

/// <summary><c>[a, b]</c></summary>
internal sealed record ListExpression(int Line, IReadOnlyList<Expression> Items) : Expression(Line);

/// <summary><c>(a, b)</c> or <c>a, b</c></summary>
internal sealed record TupleExpression(int Line, IReadOnlyList<Expression> Items) : Expression(Line);

/// <summary><c>{k: v}</c></summary>
internal sealed record DictExpression(int Line, IReadOnlyList<(Expression Key, Expression Value)> Pairs) : Expression(Line);

/// <summary><c>x.name</c>: the attribute, else the item <c>x['name']</c>.</summary>
internal sealed record AttributeExpression(int Line, Expression Target, string Name) : Expression(Line);

/// <summary><c>x[i]</c>: the item, else (for a string key) the attribute.</summary>
internal sealed record ItemExpression(int Line, Expression Target, Expression Index) : Expression(Line);

/// <summary><c>start:stop:step</c> inside <c>[]</c>; absent parts are null.</summary>
internal sealed record SliceExpression(int Line, Expression? Start, Expression? Stop, Expression? Step) : Expression(Line);

/// <summary><c>-x</c>, <c>+x</c>, <c>not x</c>.</summary>
internal sealed record UnaryExpression(int Line, string Operator, Expression Operand) : Expression(Line);

/// <summary>Arithmetic (<c>+ - * / // % **</c>) and the short-circuit <c>and</c> / <c>or</c>.</summary>
internal sealed record BinaryExpression(int Line, string Operator, Expression Left, Expression Right) : Expression(Line);

/// <summary><c>a ~ b ~ c</c>: the parts printed and joined.</summary>
internal sealed record ConcatExpression(int Line, IReadOnlyList<Expression> Parts) : Expression(Line);

/// <summary>A comparison chain <c>a &lt; b == c</c> (<c>== != &lt; &lt;= &gt; &gt;= in notin</c>), as Python chains them.</summary>
internal sealed record CompareExpression(int Line, Expression First, IReadOnlyList<(string Operator, Expression Operand)> Rest) : Expression(Line);

/// <summary><c>then if test else otherwise</c>; without <c>else</c> the result is undefined when the test fails.</summary>
internal sealed record ConditionalExpression(int Line, Expression Test, Expression Then, Expression? Otherwise) : Expression(Line);

/// <summary><c>target | name(args)</c>; a null target is the body of a <c>{% filter %}</c> block.</summary>
internal sealed record FilterExpression(int Line, Expression? Target, string Name, CallArguments Arguments) : Expression(Line);

/// <summary><c>target is name(args)</c>.</summary>
internal sealed record TestExpression(int Line, Expression Target, string Name, CallArguments Arguments) : Expression(Line);

/// <summary><c>f(args)</c> or <c>x.method(args)</c>.</summary>
internal sealed record CallExpression(int Line, Expression Target, CallArguments Arguments) : Expression(Line);
