namespace TimeBill.Templates.Syntax;

/// <summary>A statement node; <see cref="Line"/> is where it starts in the template.</summary>
internal abstract record Statement(int Line);

/// <summary>Template text, written as is.</summary>
internal sealed record TextStatement(int Line, string Text) : Statement(Line);

/// <summary><c>{{ value }}</c>: the value printed as Python's <c>str()</c> prints it (undefined prints nothing).</summary>
internal sealed record OutputStatement(int Line, Expression Value) : Statement(Line);

/// <summary><c>{% if %}...{% elif %}...{% else %}...{% endif %}</c>.</summary>
internal sealed record IfStatement(int Line, IReadOnlyList<(Expression Test, IReadOnlyList<Statement> Body)> Branches, IReadOnlyList<Statement> Otherwise) : Statement(Line);

/// <summary><c>{% for target in iterable if filter %}...{% else %}...{% endfor %}</c>.</summary>
internal sealed record ForStatement(int Line, AssignTarget Target, Expression Iterable, Expression? Filter, IReadOnlyList<Statement> Body, IReadOnlyList<Statement> Otherwise) : Statement(Line);

/// <summary><c>{% set target = value %}</c>.</summary>
internal sealed record SetStatement(int Line, AssignTarget Target, Expression Value) : Statement(Line);

/// <summary><c>{% set target | filters %}body{% endset %}</c>: the rendered body, through the filters if any.</summary>
internal sealed record SetBlockStatement(int Line, AssignTarget Target, FilterExpression? Filter, IReadOnlyList<Statement> Body) : Statement(Line);

/// <summary><c>{% with a = x, b = y %}...{% endwith %}</c>: assignments visible only inside.</summary>
internal sealed record WithStatement(int Line, IReadOnlyList<(AssignTarget Target, Expression Value)> Assignments, IReadOnlyList<Statement> Body) : Statement(Line);

/// <summary><c>{% filter f %}body{% endfilter %}</c>: the rendered body through the filters.</summary>
internal sealed record FilterBlockStatement(int Line, FilterExpression Filter, IReadOnlyList<Statement> Body) : Statement(Line);

/// <summary>
/// <c>{% macro name(a, b=default) %}...{% endmacro %}</c>. <see cref="TakesVarargs"/> / <see cref="TakesKwargs"/>:
/// the body names <c>varargs</c> / <c>kwargs</c>, so extra positional / keyword arguments are accepted, as in Jinja.
/// </summary>
internal sealed record MacroStatement(int Line, string Name, IReadOnlyList<(string Name, Expression? Default)> Parameters, IReadOnlyList<Statement> Body, bool TakesVarargs, bool TakesKwargs) : Statement(Line);

/// <summary><c>{% break %}</c> / <c>{% continue %}</c> (Jinja's loop controls).</summary>
internal sealed record LoopControlStatement(int Line, bool IsBreak) : Statement(Line);

/// <summary><c>{% generation %}...{% endgeneration %}</c>: transformers' marker around assistant text, rendered as its body.</summary>
internal sealed record GenerationStatement(int Line, IReadOnlyList<Statement> Body) : Statement(Line);
