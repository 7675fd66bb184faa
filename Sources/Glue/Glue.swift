import GlueAPI
