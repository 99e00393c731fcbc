"""sksep.features"""
