using TimeBill.Templates.Builtins;
using TimeBill.Templates.Lexing;
using TimeBill.Templates.Syntax;

namespace TimeBill.Templates.Parsing;

/// <summary>Expressions, by Jinja's precedence: conditional, or, and, not, comparisons, + -, ~, * / // %, **, unary, then filters/tests.</summary>
internal sealed partial class Parser
{
    private static readonly HashSet<string> CompareOperators = ["==", "!=", "<", "<=", ">", ">="];

    /// <summary>An expression, or several separated by commas as a tuple (as <c>{{ }}</c> and <c>set</c> take them).</summary>
    private Expression ParseTuple(bool withCondition = true, string? endName = null, bool explicitParentheses = false)
    {
        int line = _stream.Current.Line;
        var items = new List<Expression>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) _stream.ExpectOperator(",");
            if (IsTupleEnd(endName)) break;
            items.Add(withCondition ? ParseExpression() : ParseOr());
            if (_stream.Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParentheses) throw _stream.Fail($"expected an expression, found {_stream.Current.Describe()}.");
        }
        return new TupleExpression(line, items);
    }

    private Expression ParseExpression() => ParseConditional();

    private Expression ParseConditional()
    {
        int line = _stream.Current.Line;
        Expression result = ParseOr();
        while (_stream.SkipName("if"))
        {
            Expression test = ParseOr();
            Expression? otherwise = _stream.SkipName("else") ? ParseConditional() : null;
            result = new ConditionalExpression(line, test, result, otherwise);
        }
        return result;
    }

    private Expression ParseOr()
    {
        Expression left = ParseAnd();
        while (_stream.Current.IsName("or"))
        {
            int line = _stream.Advance().Line;
            left = new BinaryExpression(line, "or", left, ParseAnd());
        }
        return left;
    }

    private Expression ParseAnd()
    {
        Expression left = ParseNot();
        while (_stream.Current.IsName("and"))
        {
            int line = _stream.Advance().Line;
            left = new BinaryExpression(line, "and", left, ParseNot());
        }
        return left;
    }

    private Expression ParseNot()
    {
        if (!_stream.Current.IsName("not")) return ParseCompare();
        int line = _stream.Advance().Line;
        return new UnaryExpression(line, "not", ParseNot());
    }

    private Expression ParseCompare()
    {
        int line = _stream.Current.Line;
        Expression first = ParseMath1();
        var rest = new List<(string, Expression)>();
        while (true)
        {
            Token t = _stream.Current;
            if (t.Kind == TokenKind.Operator && CompareOperators.Contains(t.Text))
            {
                _stream.Advance();
                rest.Add((t.Text, ParseMath1()));
            }
            else if (_stream.SkipName("in")) rest.Add(("in", ParseMath1()));
            else if (t.IsName("not") && _stream.Peek().IsName("in"))
            {
                _stream.Advance();
                _stream.Advance();
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpression(line, first, rest);
    }

    private Expression ParseMath1()
    {
        Expression left = ParseConcat();
        while (_stream.Current.IsOperator("+") || _stream.Current.IsOperator("-"))
        {
            Token op = _stream.Advance();
            left = new BinaryExpression(op.Line, op.Text, left, ParseConcat());
        }
        return left;
    }

    private Expression ParseConcat()
    {
        int line = _stream.Current.Line;
        var parts = new List<Expression> { ParseMath2() };
        while (_stream.SkipOperator("~")) parts.Add(ParseMath2());
        return parts.Count == 1 ? parts[0] : new ConcatExpression(line, parts);
    }

    private Expression ParseMath2()
    {
        Expression left = ParsePow();
        while (_stream.Current.Kind == TokenKind.Operator && _stream.Current.Text is "*" or "/" or "//" or "%")
        {
            Token op = _stream.Advance();
            left = new BinaryExpression(op.Line, op.Text, left, ParsePow());
        }
        return left;
    }

    /// <summary><c>**</c> associates to the left in Jinja: <c>2**3**2</c> is 64.</summary>
    private Expression ParsePow()
    {
        Expression left = ParseUnary();
        while (_stream.Current.IsOperator("**"))
        {
            Token op = _stream.Advance();
            left = new BinaryExpression(op.Line, "**", left, ParseUnary());
        }
        return left;
    }

    /// <summary>A sign applies before filters: <c>-x|abs</c> is <c>abs(-x)</c>.</summary>
    private Expression ParseUnary(bool withFilters = true)
    {
        Token t = _stream.Current;
        Expression node;
        if (t.IsOperator("-") || t.IsOperator("+"))
        {
            _stream.Advance();
            node = new UnaryExpression(t.Line, t.Text, ParseUnary(withFilters: false));
        }
        else node = ParsePrimary();
        node = ParsePostfix(node);
        return withFilters ? ParseFiltersAndTests(node) : node;
    }

    private Expression ParsePrimary()
    {
        Token t = _stream.Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _stream.Advance();
                switch (t.Text)
                {
                    case "true" or "True": return new LiteralExpression(t.Line, true);
                    case "false" or "False": return new LiteralExpression(t.Line, false);
                    case "none" or "None": return new LiteralExpression(t.Line, null);
                }
                if (_macroNameUses.Count > 0) _macroNameUses.Peek().Add(t.Text);
                return new NameExpression(t.Line, t.Text);
            case TokenKind.String:
                _stream.Advance();
                string text = (string)t.Value!;
                while (_stream.Current.Kind == TokenKind.String) text += (string)_stream.Advance().Value!;
                return new LiteralExpression(t.Line, text);
            case TokenKind.Integer or TokenKind.Float:
                _stream.Advance();
                return new LiteralExpression(t.Line, t.Value);
        }
        if (t.IsOperator("("))
        {
            _stream.Advance();
            Expression inner = ParseTuple(explicitParentheses: true);
            _stream.ExpectOperator(")");
            return inner;
        }
        if (t.IsOperator("[")) return ParseList();
        if (t.IsOperator("{")) return ParseDict();
        throw _stream.Fail($"unexpected {t.Describe()}.");
    }

    private ListExpression ParseList()
    {
        int line = _stream.ExpectOperator("[").Line;
        var items = new List<Expression>();
        while (!_stream.Current.IsOperator("]"))
        {
            if (items.Count > 0) _stream.ExpectOperator(",");
            if (_stream.Current.IsOperator("]")) break;
            items.Add(ParseExpression());
        }
        _stream.ExpectOperator("]");
        return new ListExpression(line, items);
    }

    private DictExpression ParseDict()
    {
        int line = _stream.ExpectOperator("{").Line;
        var pairs = new List<(Expression, Expression)>();
        while (!_stream.Current.IsOperator("}"))
        {
            if (pairs.Count > 0) _stream.ExpectOperator(",");
            if (_stream.Current.IsOperator("}")) break;
            Expression key = ParseExpression();
            _stream.ExpectOperator(":");
            pairs.Add((key, ParseExpression()));
        }
        _stream.ExpectOperator("}");
        return new DictExpression(line, pairs);
    }

    private Expression ParsePostfix(Expression node)
    {
        while (true)
        {
            Token t = _stream.Current;
            if (t.IsOperator(".") || t.IsOperator("[")) node = ParseSubscript(node);
            else if (t.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expression ParseFiltersAndTests(Expression node)
    {
        while (true)
        {
            Token t = _stream.Current;
            if (t.IsOperator("|")) node = ParseFilters(node);
            else if (t.IsName("is")) node = ParseTest(node);
            else if (t.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expression ParseSubscript(Expression target)
    {
        Token t = _stream.Advance();
        if (t.IsOperator("."))
        {
            Token attribute = _stream.Advance();
            if (attribute.Kind == TokenKind.Name) return new AttributeExpression(t.Line, target, attribute.Text);
            if (attribute.Kind == TokenKind.Integer) return new ItemExpression(t.Line, target, new LiteralExpression(attribute.Line, attribute.Value));
            throw _stream.Fail($"expected an attribute name or number after '.', found {attribute.Describe()}.", attribute.Line);
        }
        var indices = new List<Expression>();
        while (!_stream.Current.IsOperator("]"))
        {
            if (indices.Count > 0) _stream.ExpectOperator(",");
            indices.Add(ParseSubscribed());
        }
        _stream.ExpectOperator("]");
        if (indices.Count == 0) throw _stream.Fail("expected an index or slice inside '[]'.", t.Line);
        return new ItemExpression(t.Line, target, indices.Count == 1 ? indices[0] : new TupleExpression(t.Line, indices));
    }

    /// <summary>An index, or a slice <c>start:stop:step</c> with any part left out.</summary>
    private Expression ParseSubscribed()
    {
        int line = _stream.Current.Line;
        Expression? start = null;
        if (!_stream.Current.IsOperator(":"))
        {
            start = ParseExpression();
            if (!_stream.Current.IsOperator(":")) return start;
        }
        _stream.Advance();
        Expression? stop = IsSliceEnd() ? null : ParseExpression();
        Expression? step = null;
        if (_stream.SkipOperator(":") && !IsSliceEnd()) step = ParseExpression();
        return new SliceExpression(line, start, stop, step);
    }

    private bool IsSliceEnd() => _stream.Current.IsOperator("]") || _stream.Current.IsOperator(",") || _stream.Current.IsOperator(":");

    private CallArguments ParseCallArguments()
    {
        _stream.ExpectOperator("(");
        var positional = new List<Expression>();
        var keywords = new List<(string, Expression)>();
        while (!_stream.Current.IsOperator(")"))
        {
            if (positional.Count + keywords.Count > 0)
            {
                _stream.ExpectOperator(",");
                if (_stream.Current.IsOperator(")")) break;
            }
            Token t = _stream.Current;
            if (t.IsOperator("*") || t.IsOperator("**"))
                throw _stream.Fail($"'{t.Text}' argument unpacking in calls is not supported.");
            if (t.Kind == TokenKind.Name && _stream.Peek().IsOperator("="))
            {
                _stream.Advance();
                _stream.Advance();
                if (keywords.Any(k => k.Item1 == t.Text)) throw _stream.Fail($"keyword argument '{t.Text}' repeated.", t.Line);
                keywords.Add((t.Text, ParseExpression()));
            }
            else
            {
                if (keywords.Count > 0) throw _stream.Fail("a positional argument follows a keyword argument.");
                positional.Add(ParseExpression());
            }
        }
        _stream.ExpectOperator(")");
        return positional.Count + keywords.Count == 0 ? CallArguments.None : new CallArguments(positional, keywords);
    }

    /// <summary>Only named functions (built-in globals, the template's macros) and known methods can be called.</summary>
    private CallExpression ParseCall(Expression target)
    {
        int line = _stream.Current.Line;
        CallArguments arguments = ParseCallArguments();
        switch (target)
        {
            case NameExpression name:
                _calledNames.Add((name.Name, line));
                break;
            case AttributeExpression attribute when !Methods.Contains(attribute.Name):
                throw _stream.Fail($"unknown method '{attribute.Name}()'.", line);
            case AttributeExpression:
                break;
            default:
                throw _stream.Fail("only functions and methods can be called (as name(...) or value.method(...)).", line);
        }
        return new CallExpression(line, target, arguments);
    }

    /// <summary><c>| f | g(args)</c>; with <paramref name="startInline"/> the first filter has no leading <c>|</c> (a filter block).</summary>
    private Expression ParseFilters(Expression? target, bool startInline = false)
    {
        Expression? node = target;
        while (startInline || _stream.Current.IsOperator("|"))
        {
            if (!startInline) _stream.Advance();
            startInline = false;
            Token t = _stream.ExpectName("a filter name");
            string name = DottedName(t.Text);
            if (!Filters.Contains(name)) throw _stream.Fail($"unknown filter '{name}'.", t.Line);
            CallArguments arguments = _stream.Current.IsOperator("(") ? ParseCallArguments() : CallArguments.None;
            CheckNamedArgument(name, arguments, t.Line);
            node = new FilterExpression(t.Line, node, name, arguments);
        }
        return node!;
    }

    private string DottedName(string first)
    {
        string name = first;
        while (_stream.SkipOperator(".")) name += "." + _stream.ExpectName().Text;
        return name;
    }

    /// <summary>Filters that take a filter or test by name (<c>map('upper')</c>, <c>select('odd')</c>) name a known one.</summary>
    private void CheckNamedArgument(string filter, CallArguments arguments, int line)
    {
        int index = filter switch { "map" or "select" or "reject" => 0, "selectattr" or "rejectattr" => 1, _ => -1 };
        if (index < 0 || arguments.Positional.Count <= index || arguments.Positional[index] is not LiteralExpression { Value: string name }) return;
        if (filter == "map" ? !Filters.Contains(name) : !Tests.Contains(name))
            throw _stream.Fail(filter == "map" ? $"unknown filter '{name}' (in map)." : $"unknown test '{name}' (in {filter}).", line);
    }

    private Expression ParseTest(Expression target)
    {
        int line = _stream.Advance().Line;
        bool negated = _stream.SkipName("not");
        Token t = _stream.ExpectName("a test name");
        string name = DottedName(t.Text);
        if (!Tests.Contains(name)) throw _stream.Fail($"unknown test '{name}'.", t.Line);
        CallArguments arguments = CallArguments.None;
        Token next = _stream.Current;
        if (next.IsOperator("(")) arguments = ParseCallArguments();
        else if ((next.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float || next.IsOperator("[") || next.IsOperator("{"))
                 && !(next.IsName("else") || next.IsName("or") || next.IsName("and")))
        {
            if (next.IsName("is")) throw _stream.Fail("tests cannot be chained with 'is'.");
            arguments = new CallArguments([ParsePostfix(ParsePrimary())], []);
        }
        Expression test = new TestExpression(line, target, name, arguments);
        return negated ? new UnaryExpression(line, "not", test) : test;
    }
}
