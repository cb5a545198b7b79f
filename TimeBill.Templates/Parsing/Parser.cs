using TimeBill.Templates.Builtins;
using TimeBill.Templates.Lexing;
using TimeBill.Templates.Syntax;

namespace TimeBill.Templates.Parsing;

/// <summary>
/// Parses a template into statements, following Jinja's grammar. Every construct this interpreter cannot run fails
/// here, with its line: statements it does not support, and filters, tests, functions and methods it does not know.
/// </summary>
internal sealed partial class Parser
{
    private static readonly HashSet<string> UnsupportedStatements = ["call", "block", "extends", "include", "import", "from", "autoescape", "do"];

    private readonly TokenStream _stream;
    private readonly List<(string Name, int Line)> _calledNames = [];
    private readonly HashSet<string> _macroNames = [];
    private readonly Stack<HashSet<string>> _macroNameUses = new();
    private int _loopDepth;

    private Parser(List<Token> tokens) => _stream = new TokenStream(tokens);

    public static IReadOnlyList<Statement> Parse(string source, bool trimBlocks, bool lstripBlocks)
    {
        var parser = new Parser(Lexer.Tokenize(source, trimBlocks, lstripBlocks));
        var body = parser.ParseBody([], null);
        parser.CheckCalledNames();
        return body;
    }

    /// <summary>A function may be a built-in global or a macro of the template (defined anywhere in it).</summary>
    private void CheckCalledNames()
    {
        foreach (var (name, line) in _calledNames)
        {
            if (Globals.Contains(name) || _macroNames.Contains(name)) continue;
            throw _stream.Fail(name == "caller"
                ? "'caller()' needs a {% call %} block, which is not supported."
                : $"unknown function '{name}'.", line);
        }
    }

    /// <summary>
    /// Statements up to one of <paramref name="endTags"/>; returns with the end tag's name as the current token.
    /// <paramref name="opener"/> is the statement whose body this is, for the error when the template ends first.
    /// </summary>
    private List<Statement> ParseBody(string[] endTags, (string Tag, int Line)? opener)
    {
        var body = new List<Statement>();
        while (true)
        {
            Token t = _stream.Current;
            switch (t.Kind)
            {
                case TokenKind.Data:
                    body.Add(new TextStatement(t.Line, t.Text));
                    _stream.Advance();
                    break;
                case TokenKind.VariableBegin:
                    _stream.Advance();
                    body.Add(new OutputStatement(t.Line, ParseTuple()));
                    _stream.ExpectVariableEnd();
                    break;
                case TokenKind.BlockBegin:
                    _stream.Advance();
                    if (_stream.Current.Kind == TokenKind.Name && endTags.Contains(_stream.Current.Text)) return body;
                    body.AddRange(ParseStatement(endTags));
                    break;
                case TokenKind.End:
                    if (opener is var (tag, line))
                        throw _stream.Fail($"the '{{% {tag} %}}' opened at line {line} is never closed: expected {Describe(endTags)} before the end of the template.", line);
                    return body;
                default:
                    throw _stream.Fail($"unexpected {t.Describe()}.");
            }
        }
    }

    private static string Describe(string[] tags) => string.Join(" or ", tags.Select(tag => $"'{{% {tag} %}}'"));

    private IEnumerable<Statement> ParseStatement(string[] endTags)
    {
        Token t = _stream.Current;
        if (t.Kind != TokenKind.Name) throw _stream.Fail($"expected a statement name after '{{%', found {t.Describe()}.");
        switch (t.Text)
        {
            case "for": return [ParseFor()];
            case "if": return [ParseIf()];
            case "set": return [ParseSet()];
            case "macro": return [ParseMacro()];
            case "with": return [ParseWith()];
            case "filter": return [ParseFilterBlock()];
            case "print": return ParsePrint();
            case "generation": return [ParseGeneration()];
            case "break" or "continue": return [ParseLoopControl()];
        }
        if (UnsupportedStatements.Contains(t.Text))
            throw _stream.Fail($"the '{{% {t.Text} %}}' statement is not supported.");
        if (t.Text.StartsWith("end", StringComparison.Ordinal) || t.Text is "else" or "elif")
            throw _stream.Fail(endTags.Length == 0
                ? $"unexpected '{{% {t.Text} %}}': no open statement ends or continues here."
                : $"unexpected '{{% {t.Text} %}}': expected {Describe(endTags)}.");
        throw _stream.Fail($"unknown statement '{{% {t.Text} %}}'.");
    }

    /// <summary>Consumes the end tag <see cref="ParseBody"/> stopped at (and its <c>%}</c>); returns its name.</summary>
    private string EndTag()
    {
        string name = _stream.Advance().Text;
        _stream.ExpectBlockEnd();
        return name;
    }

    private ForStatement ParseFor()
    {
        int line = _stream.Advance().Line;
        AssignTarget target = ParseAssignTarget(endName: "in");
        _stream.ExpectName("'in'");
        Expression iterable = ParseTuple(withCondition: false, endName: "recursive");
        Expression? filter = _stream.SkipName("if") ? ParseExpression() : null;
        if (_stream.Current.IsName("recursive")) throw _stream.Fail("recursive for loops ('recursive') are not supported.");
        _stream.ExpectBlockEnd();
        _loopDepth++;
        var body = ParseBody(["endfor", "else"], ("for", line));
        _loopDepth--;
        List<Statement> otherwise = [];
        if (EndTag() == "else")
        {
            otherwise = ParseBody(["endfor"], ("for", line));
            EndTag();
        }
        return new ForStatement(line, target, iterable, filter, body, otherwise);
    }

    private IfStatement ParseIf()
    {
        int line = _stream.Advance().Line;
        var branches = new List<(Expression, IReadOnlyList<Statement>)>();
        List<Statement> otherwise = [];
        while (true)
        {
            Expression test = ParseTuple(withCondition: false);
            _stream.ExpectBlockEnd();
            branches.Add((test, ParseBody(["elif", "else", "endif"], ("if", line))));
            string tag = _stream.Advance().Text;
            if (tag == "elif") continue; // its test follows
            _stream.ExpectBlockEnd();
            if (tag == "else")
            {
                otherwise = ParseBody(["endif"], ("if", line));
                EndTag();
            }
            return new IfStatement(line, branches, otherwise);
        }
    }

    private Statement ParseSet()
    {
        int line = _stream.Advance().Line;
        AssignTarget target = ParseAssignTarget(withNamespace: true);
        if (_stream.SkipOperator("="))
        {
            Expression value = ParseTuple();
            _stream.ExpectBlockEnd();
            return new SetStatement(line, target, value);
        }
        var filter = _stream.Current.IsOperator("|") ? (FilterExpression)ParseFilters(null) : null;
        _stream.ExpectBlockEnd();
        var body = ParseBody(["endset"], ("set", line));
        EndTag();
        return new SetBlockStatement(line, target, filter, body);
    }

    private MacroStatement ParseMacro()
    {
        int line = _stream.Advance().Line;
        string name = _stream.ExpectName("the macro's name").Text;
        _stream.ExpectOperator("(");
        var parameters = new List<(string, Expression?)>();
        while (!_stream.Current.IsOperator(")"))
        {
            if (parameters.Count > 0) _stream.ExpectOperator(",");
            string parameter = _stream.ExpectName("a parameter name").Text;
            Expression? fallback = _stream.SkipOperator("=") ? ParseExpression() : null;
            if (fallback is null && parameters.Any(p => p.Item2 is not null))
                throw _stream.Fail($"macro '{name}': parameter '{parameter}' without a default follows one with a default.");
            parameters.Add((parameter, fallback));
        }
        _stream.ExpectOperator(")");
        _stream.ExpectBlockEnd();
        _macroNames.Add(name);
        _macroNameUses.Push([]);
        int loopDepth = _loopDepth;
        _loopDepth = 0;
        var body = ParseBody(["endmacro"], ("macro", line));
        _loopDepth = loopDepth;
        var uses = _macroNameUses.Pop();
        EndTag();
        return new MacroStatement(line, name, parameters, body, uses.Contains("varargs"), uses.Contains("kwargs"));
    }

    private WithStatement ParseWith()
    {
        int line = _stream.Advance().Line;
        var assignments = new List<(AssignTarget, Expression)>();
        while (_stream.Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0) _stream.ExpectOperator(",");
            AssignTarget target = ParseAssignTarget();
            _stream.ExpectOperator("=");
            assignments.Add((target, ParseExpression()));
        }
        _stream.ExpectBlockEnd();
        var body = ParseBody(["endwith"], ("with", line));
        EndTag();
        return new WithStatement(line, assignments, body);
    }

    private FilterBlockStatement ParseFilterBlock()
    {
        int line = _stream.Advance().Line;
        var filter = (FilterExpression)ParseFilters(null, startInline: true);
        _stream.ExpectBlockEnd();
        var body = ParseBody(["endfilter"], ("filter", line));
        EndTag();
        return new FilterBlockStatement(line, filter, body);
    }

    private List<Statement> ParsePrint()
    {
        _stream.Advance();
        var outputs = new List<Statement>();
        while (_stream.Current.Kind != TokenKind.BlockEnd)
        {
            if (outputs.Count > 0) _stream.ExpectOperator(",");
            int line = _stream.Current.Line;
            outputs.Add(new OutputStatement(line, ParseExpression()));
        }
        _stream.ExpectBlockEnd();
        return outputs;
    }

    private GenerationStatement ParseGeneration()
    {
        int line = _stream.Advance().Line;
        _stream.ExpectBlockEnd();
        var body = ParseBody(["endgeneration"], ("generation", line));
        EndTag();
        return new GenerationStatement(line, body);
    }

    private LoopControlStatement ParseLoopControl()
    {
        Token t = _stream.Advance();
        if (_loopDepth == 0) throw _stream.Fail($"'{{% {t.Text} %}}' outside a for loop.", t.Line);
        _stream.ExpectBlockEnd();
        return new LoopControlStatement(t.Line, t.Text == "break");
    }

    /// <summary>
    /// A <c>set</c>/<c>for</c>/<c>with</c> target: a name, <c>ns.attr</c> (with <paramref name="withNamespace"/>), or
    /// several of them separated by commas, optionally in parentheses.
    /// </summary>
    private AssignTarget ParseAssignTarget(string? endName = null, bool withNamespace = false)
    {
        int line = _stream.Current.Line;
        var items = new List<AssignTarget>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) _stream.ExpectOperator(",");
            if (IsTupleEnd(endName) || _stream.Current.IsOperator("=")) break;
            items.Add(ParseAssignTargetItem(withNamespace));
            if (_stream.Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (items.Count == 0) throw _stream.Fail($"expected a name to assign to, found {_stream.Current.Describe()}.");
        return isTuple ? new TupleTarget(line, items) : items[0];
    }

    private AssignTarget ParseAssignTargetItem(bool withNamespace)
    {
        Token t = _stream.Current;
        if (t.IsOperator("("))
        {
            _stream.Advance();
            AssignTarget inner = ParseAssignTarget();
            _stream.ExpectOperator(")");
            return inner;
        }
        if (t.Kind != TokenKind.Name || t.Text is "true" or "false" or "none" or "True" or "False" or "None")
            throw _stream.Fail($"cannot assign to {t.Describe()}.");
        _stream.Advance();
        if (withNamespace && _stream.Current.IsOperator("."))
        {
            _stream.Advance();
            return new NamespaceAttributeTarget(t.Line, t.Text, _stream.ExpectName("an attribute name").Text);
        }
        if (_stream.Current.IsOperator(".") || _stream.Current.IsOperator("["))
            throw _stream.Fail($"cannot assign to an attribute or item of '{t.Text}' (only 'set ns.attr' on a namespace() is allowed).");
        return new NameTarget(t.Line, t.Text);
    }

    private bool IsTupleEnd(string? endName)
    {
        Token t = _stream.Current;
        return t.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.End || t.IsOperator(")") || (endName is not null && t.IsName(endName));
    }
}
