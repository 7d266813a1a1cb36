"""stub"""
from stapy.parser.preprocess import ParseError

def message_for(e, tok, ctx):
    return ParseError("expected " + ",".join(sorted(e.expected)), tok, explicit=False)
