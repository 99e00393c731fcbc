"""sksep.models"""
